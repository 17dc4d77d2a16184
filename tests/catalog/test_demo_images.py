"""Drawing of demo product photos: size, determinism, and that shape, pattern and colour show."""

import random

import pytest
from PIL import ImageChops, ImageStat

from catalog.demo import (
    COLOURS,
    PATTERNS,
    SHAPES,
    ImageSpec,
    Tones,
    mix,
    render_product_image,
    tones_for,
)

RED = (196, 32, 44)


def _mean_difference(spec_a: ImageSpec, spec_b: ImageSpec, seed: int = 1) -> float:
    a = render_product_image(spec_a, rng=random.Random(seed))
    b = render_product_image(spec_b, rng=random.Random(seed))
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_renders_a_256px_rgb_image(shape: str) -> None:
    image = render_product_image(ImageSpec(shape, "striped", RED, 26), rng=random.Random(0))

    assert (image.mode, image.size) == ("RGB", (256, 256))


def test_same_spec_and_seed_give_identical_pixels() -> None:
    spec = ImageSpec("mug", "dotted", RED, 26, view=2)

    first = render_product_image(spec, rng=random.Random(5))
    second = render_product_image(spec, rng=random.Random(5))
    other_seed = render_product_image(spec, rng=random.Random(6))

    assert first.tobytes() == second.tobytes()
    assert first.tobytes() != other_seed.tobytes()


@pytest.mark.parametrize("pattern", sorted(set(PATTERNS) - {"plain"}))
def test_every_pattern_changes_the_plain_product(pattern: str) -> None:
    plain = ImageSpec("cushion", "plain", RED, 32)

    assert _mean_difference(plain, ImageSpec("cushion", pattern, RED, 32)) > 3


def test_the_object_is_painted_in_the_variant_colour() -> None:
    # Centre-left of a plain cushion: inside the body for any jitter, away from the button.
    for name, colour in COLOURS.items():
        image = render_product_image(
            ImageSpec("cushion", "plain", colour, 32), rng=random.Random(3)
        )
        pixel = image.getpixel((100, 128))

        nearest = min(
            COLOURS, key=lambda n: sum((p - c) ** 2 for p, c in zip(pixel, COLOURS[n], strict=True))
        )
        assert nearest == name


def test_shape_matters_more_than_colour() -> None:
    navy = COLOURS["navy"]

    same_shape = _mean_difference(
        ImageSpec("ball", "plain", RED, 32), ImageSpec("ball", "plain", navy, 32)
    )
    other_shape = _mean_difference(
        ImageSpec("ball", "plain", RED, 32), ImageSpec("lamp", "plain", RED, 32)
    )

    assert other_shape > same_shape


def test_mix_blends_linearly() -> None:
    assert mix((0, 0, 0), (255, 255, 255), 0.0) == (0, 0, 0)
    assert mix((0, 0, 0), (255, 255, 255), 1.0) == (255, 255, 255)
    assert mix((0, 100, 200), (100, 200, 0), 0.5) == (50, 150, 100)


def test_tones_contrast_with_the_colour() -> None:
    assert tones_for((0, 0, 0)) == Tones(base=(0, 0, 0), accent=(166, 166, 166), dark=(90, 90, 96))
    assert tones_for((255, 255, 255)) == Tones(
        base=(255, 255, 255), accent=(153, 153, 153), dark=(115, 115, 115)
    )
