"""Patterns fill the whole canvas; the shape's mask then cuts the object out of it.

The pattern says the variant group: every colour variant of a group shares it.
"""

from collections.abc import Callable

from PIL import ImageDraw

from .drawing import CANVAS, Tones, mix


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
