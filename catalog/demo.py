"""A believable demo shop, generated offline: a catalogue CSV (docs/CATALOGUE_FORMAT.md) plus
Pillow-drawn product photos, so prodsim can be tried and tested without real data.

The similarity signal is built in: the category decides an image's shape, the variant group its
pattern and the variant its colour. Plain Python + Pillow, no Django imports. Everything random
comes from one `random.Random(seed)`, so a seed always gives byte-identical files.
"""

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from catalog.demo_images import RGB, ImageSpec, render_product_image

CSV_NAME = "demo.csv"
IMAGES_DIR = "images"
CURRENCY = "EUR"
JPEG_QUALITY = 88  # visually clean at 256 px, ~10 KB per image
OUT_OF_STOCK_RATE = 0.08  # roughly what a healthy shop shows as sold out
SECOND_VIEW_RATE = 0.5  # half the variants get a second photo from another angle
SECOND_SENTENCE_RATE = 0.7  # most descriptions add a category detail sentence
GROUP_SIZES = (3, 4)  # colour variants per group: 36 products -> 9 to 12 groups
PATTERN_SCALES = (20, 26, 32, 40)  # pattern repeat in canvas px: from fine to bold, all legible
PRICE_ENDINGS = ("00", "50", "90", "95")  # shelf-price endings
TITLE_DASH = "\u2013"  # an en dash, as shops print it; also puts non-ASCII text in the CSV

CSV_COLUMNS = (
    "sku",
    "title",
    "description",
    "brand",
    "category",
    "price",
    "currency",
    "tags",
    "attr:colour",
    "attr:pattern",
    "attr:material",
    "in_stock",
    "group_id",
    "images",
)

COLOURS: dict[str, RGB] = {
    "red": (196, 32, 44),
    "navy": (24, 36, 84),
    "forest green": (34, 94, 52),
    "mustard": (222, 170, 30),
    "black": (28, 28, 30),
    "white": (246, 246, 242),
    "pink": (238, 150, 180),
    "teal": (0, 128, 128),
    "grey": (128, 130, 134),
    "orange": (238, 118, 24),
}

# pattern key (see demo_images.PATTERNS) -> the word used in titles
PATTERN_WORDS = {
    "plain": "Plain",
    "striped": "Striped",
    "dotted": "Polka Dot",
    "checked": "Checked",
    "zigzag": "Zigzag",
    "two-tone": "Two-Tone",
    "diagonal": "Diagonal Stripe",
}

STYLE_WORDS = ("classic", "minimalist", "retro", "scandi", "bold", "everyday", "playful")

FIRST_SENTENCES = (
    "A {pattern} {noun} in {colour}, made from {material}.",
    "{brand}'s {style} {noun} in {colour} with a {pattern} look.",
    "Our {style} {material} {noun}, shown here in {colour}.",
    "A {style} take on the {noun}: {material}, {pattern} and {colour}.",
)


@dataclass(frozen=True)
class Category:
    """One shop category and everything that makes its products look and read alike."""

    path: str
    code: str  # SKU prefix
    folder: str  # image sub-folder
    noun: str
    shape: str  # key of demo_images.SHAPES
    materials: tuple[str, ...]
    price_band: tuple[int, int]  # whole euros, [low, high)
    brands: tuple[str, ...]
    details: tuple[str, ...]  # second description sentences


# Price bands follow typical European high-street prices for each kind of product.
# A table reads better than one keyword argument per line, hence fmt: off.
# fmt: off
CATEGORIES = (
    Category(
        "Home > Kitchen > Mugs", "MUG", "mugs", "Mug", "mug",
        ("ceramic", "stoneware", "enamel"), (9, 35), ("Hearth & Co", "Kiln & Clay"),
        ("Holds 350 ml and is dishwasher safe.", "Microwave safe, with a comfortable handle."),
    ),
    Category(
        "Home > Decor > Cushions", "CSH", "cushions", "Cushion", "cushion",
        ("cotton", "linen", "velvet"), (19, 70), ("Nordvik Living", "Loom & Thread"),
        ("45 x 45 cm, with a feather-filled inner.", "The cover zips off for washing."),
    ),
    Category(
        "Fashion > Tops > T-shirts", "TEE", "t-shirts", "T-Shirt", "tshirt",
        ("cotton", "organic cotton", "jersey"), (14, 40), ("Loom & Thread", "Pioneer Athletic"),
        ("Regular fit with a crew neck.", "Pre-washed, so it keeps its shape."),
    ),
    Category(
        "Fashion > Shoes > Sneakers", "SNK", "sneakers", "Sneaker", "sneaker",
        ("canvas", "leather", "mesh"), (49, 130), ("Stride Lab", "Pioneer Athletic"),
        ("Cushioned insole and a grippy rubber sole.", "Lace-up, true to size."),
    ),
    Category(
        "Fashion > Accessories > Hats", "HAT", "hats", "Hat", "hat",
        ("wool felt", "cotton", "straw"), (14, 45), ("Urban Trail", "Loom & Thread"),
        ("A wide brim for sunny days.", "Packs flat and springs back into shape."),
    ),
    Category(
        "Home > Decor > Lamps", "LMP", "lamps", "Table Lamp", "lamp",
        ("linen", "ceramic", "brushed metal"), (29, 150), ("Bright Ember", "Nordvik Living"),
        ("E27 fitting, bulb not included.", "A warm, diffused light for reading."),
    ),
    Category(
        "Home > Kitchen > Plates", "PLT", "plates", "Dinner Plate", "plate",
        ("porcelain", "stoneware", "melamine"), (6, 25), ("Kiln & Clay", "Hearth & Co"),
        ("27 cm across and dishwasher safe.", "Stacks neatly with the rest of the range."),
    ),
    Category(
        "Sports > Balls", "BAL", "balls", "Ball", "ball",
        ("rubber", "synthetic leather"), (12, 50), ("Pioneer Athletic", "Stride Lab"),
        ("Official size 5, match weight.", "Durable enough for indoor and outdoor play."),
    ),
    Category(
        "Stationery > Notebooks", "NTB", "notebooks", "Notebook", "notebook",
        ("recycled paper", "linen cover", "leatherette"), (4, 20), ("Fieldnote Press",),
        ("A5, 160 dotted pages, lies flat when open.", "Includes an elastic closure."),
    ),
    Category(
        "Fashion > Bags > Backpacks", "BPK", "backpacks", "Backpack", "backpack",
        ("nylon", "canvas", "recycled polyester"), (34, 120), ("Urban Trail", "Stride Lab"),
        ("Padded sleeve fits a 15-inch laptop.", "20 litres, with a water-repellent finish."),
    ),
)
# fmt: on


@dataclass(frozen=True)
class VariantGroup:
    """Choices shared by all colour variants of one product."""

    group_id: str
    category: Category
    brand: str
    pattern: str
    material: str
    style: str
    pattern_scale: int
    price: str
    colours: tuple[str, ...]


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
                    writer.writerow(_row(group, colour, images, rng))
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
        relative = f"{group.category.folder}/{group.group_id}-{_slug(colour)}-{view}.jpg"
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


def _row(group: VariantGroup, colour: str, images: list[str], rng: random.Random) -> list[str]:
    """One CSV row, in CSV_COLUMNS order."""
    category = group.category
    in_stock = rng.random() >= OUT_OF_STOCK_RATE
    title = (
        f"{group.brand} {PATTERN_WORDS[group.pattern]} {group.material.title()} "
        f"{category.noun} {TITLE_DASH} {colour.title()}"
    )
    return [
        f"{group.group_id}-{_slug(colour).upper()}",
        title,
        _description(group, colour, rng),
        group.brand,
        category.path,
        group.price,
        CURRENCY,
        "|".join((colour, group.pattern, group.material, group.style)),
        colour,
        group.pattern,
        group.material,
        "true" if in_stock else "false",
        group.group_id,
        "|".join(images),
    ]


def _description(group: VariantGroup, colour: str, rng: random.Random) -> str:
    """One or two sentences from the templates."""
    first = rng.choice(FIRST_SENTENCES).format(
        pattern=PATTERN_WORDS[group.pattern].lower(),
        noun=group.category.noun.lower(),
        colour=colour,
        material=group.material,
        brand=group.brand,
        style=group.style,
    )
    first = first[0].upper() + first[1:]
    if rng.random() < SECOND_SENTENCE_RATE:
        return f"{first} {rng.choice(group.category.details)}"
    return first


def _slug(colour: str) -> str:
    """Colour name in path and SKU form: "forest green" -> "forest-green"."""
    return colour.replace(" ", "-")
