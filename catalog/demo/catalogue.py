"""A believable demo shop, generated offline: a catalogue CSV (docs/CATALOGUE_FORMAT.md) plus
Pillow-drawn product photos, written to a folder.

Everything random comes from one `random.Random(seed)`, so a seed always gives byte-identical files.
"""

import csv
import random
from pathlib import Path

from .assortment import (
    CATEGORIES,
    COLOURS,
    PATTERN_WORDS,
    STYLE_WORDS,
    Category,
    VariantGroup,
    slug,
)
from .images import ImageSpec, render_product_image
from .rows import CSV_COLUMNS, csv_row

CSV_NAME = "demo.csv"
IMAGES_DIR = "images"
JPEG_QUALITY = 88  # visually clean at 256 px, ~10 KB per image
SECOND_VIEW_RATE = 0.5  # half the variants get a second photo from another angle
GROUP_SIZES = (3, 4)  # colour variants per group: 36 products -> 9 to 12 groups
PATTERN_SCALES = (20, 26, 32, 40)  # pattern repeat in canvas px: from fine to bold, all legible
PRICE_ENDINGS = ("00", "50", "90", "95")  # shelf-price endings


def write_demo_catalogue(*, out_dir: Path, seed: int = 7, products_per_category: int = 36) -> Path:
    """Write demo.csv and images/ under out_dir; return the CSV path.

    Deterministic for a given seed: the same seed gives byte-identical CSV and JPEG files.
    Writes 10 * products_per_category rows; image paths in the CSV are relative to images/.
    """
    if products_per_category < 1:
        raise ValueError("products_per_category must be at least 1")
    rng = random.Random(seed)
    image_root = out_dir / IMAGES_DIR
    csv_path = out_dir / CSV_NAME
    out_dir.mkdir(parents=True, exist_ok=True)
    # newline="" lets the csv module write its own RFC 4180 line endings.
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for category in CATEGORIES:
            for group in _variant_groups(category, products_per_category, rng):
                for colour in group.colours:
                    images = _write_images(group, colour, image_root, rng)
                    writer.writerow(csv_row(group, colour, images, rng))
    return csv_path


def _variant_groups(category: Category, total: int, rng: random.Random) -> list[VariantGroup]:
    """Split `total` products of a category into variant groups of distinct colours."""
    sizes = _group_sizes(total, rng)
    width = max(3, len(str(len(sizes))))
    return [
        VariantGroup(
            group_id=f"{category.code}-{number:0{width}d}",
            category=category,
            brand=rng.choice(category.brands),
            pattern=rng.choice(list(PATTERN_WORDS)),
            material=rng.choice(category.materials),
            style=rng.choice(STYLE_WORDS),
            pattern_scale=rng.choice(PATTERN_SCALES),
            price=_price(category.price_band, rng),
            colours=tuple(rng.sample(list(COLOURS), size)),
        )
        for number, size in enumerate(sizes, start=1)
    ]


def _group_sizes(total: int, rng: random.Random) -> list[int]:
    """Group sizes of 3 or 4 that add up to `total`; only totals under 6 force a smaller group."""
    sizes: list[int] = []
    remaining = total
    while remaining > max(GROUP_SIZES):
        # Never leave a remainder (1, 2 or 5) that cannot itself be split into 3s and 4s.
        options = [s for s in GROUP_SIZES if remaining - s not in (1, 2, 5)]
        size = rng.choice(options or [max(GROUP_SIZES)])
        sizes.append(size)
        remaining -= size
    return [*sizes, remaining] if remaining else sizes


def _price(band: tuple[int, int], rng: random.Random) -> str:
    """A shelf price like "24.90" inside the whole-euro band."""
    return f"{rng.randrange(*band)}.{rng.choice(PRICE_ENDINGS)}"


def _write_images(
    group: VariantGroup, colour: str, image_root: Path, rng: random.Random
) -> list[str]:
    """Draw and save the variant's photos; return their paths relative to the image root."""
    views = 2 if rng.random() < SECOND_VIEW_RATE else 1
    paths = []
    for view in range(1, views + 1):
        relative = f"{group.category.folder}/{group.group_id}-{slug(colour)}-{view}.jpg"
        spec = ImageSpec(
            shape=group.category.shape,
            pattern=group.pattern,
            colour=COLOURS[colour],
            pattern_scale=group.pattern_scale,
            view=view,
        )
        target = image_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        render_product_image(spec, rng=rng).save(target, "JPEG", quality=JPEG_QUALITY)
        paths.append(relative)
    return paths
