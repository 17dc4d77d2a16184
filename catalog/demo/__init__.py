"""A believable demo shop, generated offline: a catalogue CSV (docs/CATALOGUE_FORMAT.md) plus
Pillow-drawn product photos, so prodsim can be tried and tested without real data.

The similarity signal is built in: the category decides an image's shape, the variant group its
pattern and the variant its colour. Plain Python + Pillow, no Django imports.
"""

from .assortment import CATEGORIES, COLOURS, PATTERN_WORDS, STYLE_WORDS, Category, VariantGroup
from .catalogue import CSV_NAME, IMAGES_DIR, write_demo_catalogue
from .drawing import RGB, Tones, mix, tones_for
from .images import ImageSpec, render_product_image
from .patterns import PATTERNS
from .rows import CSV_COLUMNS, TITLE_DASH, demo_sku_regex
from .shapes import SHAPES

__all__ = [
    "CATEGORIES",
    "COLOURS",
    "CSV_COLUMNS",
    "CSV_NAME",
    "IMAGES_DIR",
    "PATTERNS",
    "PATTERN_WORDS",
    "RGB",
    "SHAPES",
    "STYLE_WORDS",
    "TITLE_DASH",
    "Category",
    "demo_sku_regex",
    "ImageSpec",
    "Tones",
    "VariantGroup",
    "mix",
    "render_product_image",
    "tones_for",
    "write_demo_catalogue",
]
