"""The canvas every demo drawing is made on, and the colours derived from a variant's colour."""

from dataclasses import dataclass

RGB = tuple[int, int, int]

IMAGE_SIZE = 256  # what the catalogue stores; small enough to draw hundreds in seconds
SUPERSAMPLE = 2  # draw at 2x and downsample: cheap anti-aliasing for the silhouettes
CANVAS = IMAGE_SIZE * SUPERSAMPLE


@dataclass(frozen=True)
class Tones:
    """The colours a drawing uses, all derived from the variant colour."""

    base: RGB
    accent: RGB  # the pattern's second colour
    dark: RGB  # outlines, seams, rims


def mix(start: RGB, end: RGB, t: float) -> RGB:
    """Linear blend of two colours: t=0 gives start, t=1 gives end."""
    r, g, b = (round(x + (y - x) * t) for x, y in zip(start, end, strict=True))
    return (r, g, b)


def tones_for(colour: RGB) -> Tones:
    """Pick a pattern accent that contrasts with the colour: lighter for dark colours, darker for
    light ones."""
    luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    accent = mix(colour, (255, 255, 255), 0.65) if luminance < 140 else mix(colour, (0, 0, 0), 0.4)
    dark = mix(colour, (0, 0, 0), 0.55) if luminance > 40 else (90, 90, 96)
    return Tones(base=colour, accent=accent, dark=dark)
