"""One demo product photo: the object drawn and lit, turned and re-framed per view, on a light
backdrop with a soft shadow and photo grain.

Everything random comes from the `random.Random` passed in, so the same spec and seed always give
the same pixels.
"""

import functools
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .drawing import CANVAS, IMAGE_SIZE, RGB, SUPERSAMPLE, tones_for
from .patterns import PATTERNS
from .shapes import SHAPES

NOISE_AMPLITUDE = 6  # ±6 grey levels: visible "photo grain", far below the object/background gap
SHADE_FLOOR = 212  # darkest multiplier (of 255) of the left-to-right light falloff on the object
SHADOW_OPACITY = 0.35

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
