"""What the demo shop sells: its categories, colours, patterns and variant groups."""

from dataclasses import dataclass

from .drawing import RGB

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

# pattern key (see patterns.PATTERNS) -> the word used in titles
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


@dataclass(frozen=True)
class Category:
    """One shop category and everything that makes its products look and read alike."""

    path: str
    code: str  # SKU prefix
    folder: str  # image sub-folder
    noun: str
    shape: str  # key of shapes.SHAPES
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


def slug(colour: str) -> str:
    """Colour name in path and SKU form: "forest green" -> "forest-green"."""
    return colour.replace(" ", "-")
