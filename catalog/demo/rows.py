"""One demo catalogue row: SKU, title and description written from the variant's choices."""

import random

from .assortment import CATEGORIES, PATTERN_WORDS, VariantGroup, slug

CURRENCY = "EUR"
OUT_OF_STOCK_RATE = 0.08  # roughly what a healthy shop shows as sold out
SECOND_SENTENCE_RATE = 0.7  # most descriptions add a category detail sentence
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

FIRST_SENTENCES = (
    "A {pattern} {noun} in {colour}, made from {material}.",
    "{brand}'s {style} {noun} in {colour} with a {pattern} look.",
    "Our {style} {material} {noun}, shown here in {colour}.",
    "A {style} take on the {noun}: {material}, {pattern} and {colour}.",
)


def csv_row(group: VariantGroup, colour: str, images: list[str], rng: random.Random) -> list[str]:
    """One CSV row, in CSV_COLUMNS order."""
    category = group.category
    in_stock = rng.random() >= OUT_OF_STOCK_RATE
    title = (
        f"{group.brand} {PATTERN_WORDS[group.pattern]} {group.material.title()} "
        f"{category.noun} {TITLE_DASH} {colour.title()}"
    )
    return [
        f"{group.group_id}-{slug(colour).upper()}",
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


def demo_sku_regex() -> str:
    """A PostgreSQL (and Python) regular expression every demo SKU matches, whatever the seed
    and size: a category's code, the group's number, the colour ("MUG-007-SAGE-GREEN")."""
    codes = "|".join(category.code for category in CATEGORIES)
    return rf"^({codes})-[0-9]+-[A-Z0-9-]+$"
