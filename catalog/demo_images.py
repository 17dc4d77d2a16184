"""Pillow drawings of demo products: the shape says the category, the pattern the variant group,
the colour the variant.

Plain Python + Pillow, no Django imports. Everything random comes from the `random.Random`
passed in, so the same spec and seed always give the same pixels.
"""

import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

RGB = tuple[int, int, int]

IMAGE_SIZE = 256  # what the catalogue stores; small enough to draw hundreds in seconds
SUPERSAMPLE = 2  # draw at 2x and downsample: cheap anti-aliasing for the silhouettes
CANVAS = IMAGE_SIZE * SUPERSAMPLE
NOISE_AMPLITUDE = 6  # ±6 grey levels: visible "photo grain", far below the object/background gap
SHADE_FLOOR = 212  # darkest multiplier (of 255) of the left-to-right light falloff on the object
SHADOW_OPACITY = 0.35
METAL: RGB = (150, 150, 156)
SOLE: RGB = (238, 236, 230)

# Per-view geometric jitter: (max rotation degrees, scale range, max shift in output pixels).
# View 1 is the packshot; view 2 is "another photo" of the same product: turned and re-framed.
VIEW_JITTER = {
    1: (3.0, (0.92, 1.02), 7),
    2: (12.0, (0.78, 0.90), 17),
}


@dataclass(frozen=True)
class ImageSpec:
    """What to draw: `shape` and `pattern` are keys of SHAPES and PATTERNS, `pattern_scale` is the
    pattern's repeat in canvas pixels (fixed per variant group), `view` is 1 or 2."""

    shape: str
    pattern: str
    colour: RGB
    pattern_scale: int
    view: int = 1


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


# --- patterns: fill the whole canvas; the shape's mask cuts the object out of it ---------------


def _stripes(draw: ImageDraw.ImageDraw, t: Tones, w: int) -> None:
    for y in range(0, CANVAS, 2 * w):
        draw.rectangle((0, y, CANVAS, y + w - 1), fill=t.accent)


def _diagonal(draw: ImageDraw.ImageDraw, t: Tones, w: int) -> None:
    for x in range(-CANVAS, CANVAS, 2 * w):
        draw.polygon(
            [(x, CANVAS), (x + w, CANVAS), (x + w + CANVAS, 0), (x + CANVAS, 0)],
            t.accent,
        )


def _dots(draw: ImageDraw.ImageDraw, t: Tones, w: int) -> None:
    step, r = 2 * w, w // 2
    for row, y in enumerate(range(0, CANVAS + step, step)):
        for x in range(-step + (row % 2) * w, CANVAS + step, step):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=t.accent)


def _checks(draw: ImageDraw.ImageDraw, t: Tones, w: int) -> None:
    half = mix(t.base, t.accent, 0.5)
    for i, y in enumerate(range(0, CANVAS, w)):
        for j, x in enumerate(range(0, CANVAS, w)):
            if i % 2 or j % 2:
                fill = t.accent if i % 2 and j % 2 else half
                draw.rectangle((x, y, x + w - 1, y + w - 1), fill=fill)


def _zigzag(draw: ImageDraw.ImageDraw, t: Tones, w: int) -> None:
    for y in range(w, CANVAS, 2 * w):
        points = [
            (x, y + (w // 2 if k % 2 else -w // 2)) for k, x in enumerate(range(0, CANVAS + w, w))
        ]
        draw.line(points, fill=t.accent, width=max(4, w // 3), joint="curve")


def _two_tone(draw: ImageDraw.ImageDraw, t: Tones, w: int) -> None:
    draw.rectangle((0, CANVAS // 2 + w, CANVAS, CANVAS), fill=t.accent)


def _plain(draw: ImageDraw.ImageDraw, t: Tones, w: int) -> None:
    """No pattern: the base colour alone."""


PATTERNS: dict[str, Callable[[ImageDraw.ImageDraw, Tones, int], None]] = {
    "plain": _plain,
    "striped": _stripes,
    "dotted": _dots,
    "checked": _checks,
    "zigzag": _zigzag,
    "two-tone": _two_tone,
    "diagonal": _diagonal,
}


# --- shapes: `body` is an L mask (255 = patterned fabric/glaze), `detail` an RGBA overlay ----
# Coordinates are on the 512 px canvas with the object centred around (256, 260).


def _mug(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.ellipse((300, 190, 420, 350), fill=255)
    body.ellipse((328, 222, 392, 318), fill=0)
    body.rounded_rectangle((130, 140, 350, 410), radius=34, fill=255)
    detail.ellipse((130, 126, 350, 160), fill=t.dark)
    detail.ellipse((142, 130, 338, 154), fill=mix(t.dark, (0, 0, 0), 0.4))


def _tshirt(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    left = [(206, 100), (140, 122), (62, 196), (112, 262), (158, 226), (158, 430)]
    right = [(354, 430), (354, 226), (400, 262), (450, 196), (372, 122), (306, 100), (256, 146)]
    outline = left + right
    body.polygon(outline, fill=255)
    detail.arc((204, 70, 308, 150), start=20, end=160, fill=t.dark, width=10)
    detail.line([(158, 226), (158, 430)], fill=t.dark, width=3)
    detail.line([(354, 226), (354, 430)], fill=t.dark, width=3)


def _sneaker(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    # Side view, toe to the right: rounded heel, low collar, tongue, laces down the vamp.
    heel_to_tongue = [(92, 344), (84, 250), (100, 214), (150, 206), (194, 226), (222, 180)]
    vamp_to_toe = [(262, 176), (296, 232), (370, 262), (424, 280), (454, 310), (458, 344)]
    body.polygon(heel_to_tongue + vamp_to_toe, fill=255)
    body.ellipse((72, 212, 140, 344), fill=255)
    detail.rounded_rectangle((64, 330, 468, 374), radius=20, fill=SOLE, outline=t.dark, width=3)
    detail.line([(80, 354), (452, 354)], fill=mix(SOLE, (0, 0, 0), 0.25), width=3)
    detail.arc((396, 290, 500, 400), start=180, end=250, fill=t.dark, width=5)  # toe cap
    detail.line([(96, 300), (176, 300), (232, 312)], fill=t.dark, width=5)  # side panel seam
    for k in range(4):
        x, y = 238 + 16 * k, 198 + 14 * k
        detail.line([(x - 14, y + 6), (x + 16, y - 8)], fill=(246, 246, 240), width=7)


def _hat(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.ellipse((70, 290, 442, 380), fill=255)
    body.rounded_rectangle((152, 150, 360, 336), radius=60, fill=255)
    detail.rectangle((152, 282, 360, 312), fill=t.dark)
    detail.arc((70, 290, 442, 380), start=0, end=180, fill=t.dark, width=4)


def _cushion(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.rounded_rectangle((106, 116, 406, 406), radius=46, fill=255)
    detail.rounded_rectangle((106, 116, 406, 406), radius=46, outline=t.dark, width=10)
    detail.ellipse((244, 249, 268, 273), fill=t.dark)


def _lamp(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.polygon([(196, 96), (316, 96), (384, 250), (128, 250)], fill=255)
    detail.rectangle((249, 250, 263, 404), fill=METAL)
    detail.ellipse((176, 392, 336, 426), fill=METAL, outline=mix(METAL, (0, 0, 0), 0.3), width=3)
    detail.line([(128, 250), (384, 250)], fill=t.dark, width=6)


def _plate(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.ellipse((64, 146, 448, 386), fill=255)
    detail.ellipse((64, 146, 448, 386), outline=t.dark, width=5)
    detail.ellipse((140, 194, 372, 338), outline=t.dark, width=5)
    detail.ellipse((150, 200, 362, 332), outline=mix(t.dark, (255, 255, 255), 0.5), width=3)


def _ball(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.ellipse((116, 116, 396, 396), fill=255)
    detail.line([(256, 116), (256, 396)], fill=t.dark, width=6)
    detail.line([(116, 256), (396, 256)], fill=t.dark, width=6)
    detail.arc((30, 116, 210, 396), start=-55, end=55, fill=t.dark, width=6)
    detail.arc((302, 116, 482, 396), start=125, end=235, fill=t.dark, width=6)
    detail.ellipse((170, 160, 220, 196), fill=(255, 255, 255, 110))


def _notebook(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.rounded_rectangle((150, 92, 376, 424), radius=10, fill=255)
    detail.rectangle((200, 150, 330, 204), fill=(246, 244, 236), outline=t.dark, width=3)
    detail.line([(350, 92), (350, 424)], fill=t.dark, width=8)
    for y in range(112, 416, 24):
        detail.ellipse((134, y, 170, y + 14), outline=METAL, width=5)


def _backpack(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    detail.rounded_rectangle((128, 180, 156, 400), radius=12, fill=t.dark)
    detail.rounded_rectangle((356, 180, 384, 400), radius=12, fill=t.dark)
    body.rounded_rectangle((148, 132, 364, 424), radius=64, fill=255)
    detail.arc((220, 92, 292, 160), start=180, end=360, fill=t.dark, width=10)
    detail.rounded_rectangle((182, 296, 330, 400), radius=24, outline=t.dark, width=6)
    detail.line([(196, 318), (316, 318)], fill=METAL, width=4)


ShapeDrawer = Callable[[ImageDraw.ImageDraw, ImageDraw.ImageDraw, Tones], None]
SHAPES: dict[str, ShapeDrawer] = {
    "mug": _mug,
    "tshirt": _tshirt,
    "sneaker": _sneaker,
    "hat": _hat,
    "cushion": _cushion,
    "lamp": _lamp,
    "plate": _plate,
    "ball": _ball,
    "notebook": _notebook,
    "backpack": _backpack,
}


# --- composition ---------------------------------------------------------------------------


@functools.cache
def _object_light() -> Image.Image:
    """Light falling from the left: a multiplier from 255 down to SHADE_FLOOR across the image."""
    light = Image.linear_gradient("L").rotate(90).resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
    light = light.point(lambda v: 255 - v * (255 - SHADE_FLOOR) // 255)
    return Image.merge("RGB", (light, light, light))


@functools.cache
def _backdrop_falloff() -> Image.Image:
    """A multiplier that darkens the backdrop by up to 8% towards the bottom."""
    size = (IMAGE_SIZE, IMAGE_SIZE)
    falloff = Image.linear_gradient("L").resize(size, Image.BILINEAR).point(lambda v: 255 - v // 12)
    return Image.merge("RGB", (falloff, falloff, falloff))


def _object_layer(spec: ImageSpec) -> Image.Image:
    """The product, centred and upright, as a 256 px RGBA image with transparent surroundings.

    Shapes and patterns are drawn at SUPERSAMPLE size and reduced straight away: the reduce is
    the anti-aliasing, and everything after it works on 4x fewer pixels.
    """
    tones = tones_for(spec.colour)
    texture = Image.new("RGB", (CANVAS, CANVAS), tones.base)
    PATTERNS[spec.pattern](ImageDraw.Draw(texture), tones, spec.pattern_scale)
    mask = Image.new("L", (CANVAS, CANVAS), 0)
    overlay = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    SHAPES[spec.shape](ImageDraw.Draw(mask), ImageDraw.Draw(overlay), tones)
    texture = ImageChops.multiply(texture.reduce(SUPERSAMPLE), _object_light())
    mask = mask.reduce(SUPERSAMPLE)
    # Premultiplied alpha stops the transparent surroundings bleeding into the edges.
    overlay = overlay.convert("RGBa").reduce(SUPERSAMPLE).convert("RGBA")
    layer = Image.new("RGBA", mask.size, (*tones.dark, 0))
    layer.paste(texture, mask=mask)
    # A faint outline keeps white products visible on the light background.
    layer.paste(tones.dark, mask=mask.filter(ImageFilter.FIND_EDGES).point(lambda v: v // 3))
    layer.alpha_composite(overlay)
    return layer


def _jitter(layer: Image.Image, view: int, rng: random.Random) -> Image.Image:
    """Rotate, scale and shift the object layer around the centre. The rotations are small
    enough that bilinear resampling stays sharp."""
    max_angle, (min_scale, max_scale), max_shift = VIEW_JITTER[view]
    angle = math.radians(rng.uniform(-max_angle, max_angle))
    scale = rng.uniform(min_scale, max_scale)
    tx, ty = rng.uniform(-max_shift, max_shift), rng.uniform(-max_shift, max_shift)
    c = IMAGE_SIZE / 2
    # Image.transform wants the inverse map: output pixel -> input pixel.
    a, b = math.cos(angle) / scale, math.sin(angle) / scale
    d, e = -b, a
    coeffs = (
        a,
        b,
        c - a * (c + tx) - b * (c + ty),
        d,
        e,
        c - d * (c + tx) - e * (c + ty),
    )
    moved = layer.convert("RGBa").transform(layer.size, Image.AFFINE, coeffs, Image.BILINEAR)
    return moved.convert("RGBA")


def _background(rng: random.Random) -> Image.Image:
    """A light, slightly tinted backdrop that darkens towards the bottom like a photo sweep."""
    tint = tuple(min(255, 243 + rng.randint(-5, 5)) for _ in range(3))
    return ImageChops.multiply(
        Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), tint), _backdrop_falloff()
    )


def _add_noise(image: Image.Image, rng: random.Random) -> Image.Image:
    """Monochrome grain from the seeded rng (Image.effect_noise uses C rand(): not seedable)."""
    span = 2 * NOISE_AMPLITUDE + 1
    grain = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    grain = grain.point(lambda v: v * span // 256)
    return ImageChops.add(image, Image.merge("RGB", (grain, grain, grain)), offset=-NOISE_AMPLITUDE)


def render_product_image(spec: ImageSpec, *, rng: random.Random) -> Image.Image:
    """Draw one product photo: a 256x256 RGB image of `spec`'s shape, pattern and colour, jittered
    in position, scale and rotation by `rng`, on a noisy light background with a soft shadow."""
    background = _background(rng).convert("RGBA")
    product = _jitter(_object_layer(spec), spec.view, rng)
    alpha = product.getchannel("A")
    shadow_alpha = alpha.filter(ImageFilter.GaussianBlur(5)).point(
        lambda v: int(v * SHADOW_OPACITY)
    )
    shadow = Image.new("RGBA", background.size, (40, 40, 40, 0))
    shadow.putalpha(ImageChops.offset(shadow_alpha, 5, 7))
    background.alpha_composite(shadow)
    background.alpha_composite(product)
    return _add_noise(background.convert("RGB"), rng)
