"""A catalogue product as the five text fields of its lexical vector (and their fingerprint)."""

import hashlib

from catalog.category_paths import CATEGORY_PATH_SEPARATOR
from catalog.selectors import ProductFacts

from ..fusion import attribute_text
from ..ml import lexical
from ..ml.lexical.fields import DESCRIPTION_CHARS as INDEXED_DESCRIPTION_CHARS

# Attribute keys whose values are the manufacturer's code, not a property of the product.
MODEL_NUMBER_KEYS = frozenset(
    {"model", "model_number", "model_no", "modelno", "mpn", "part_number"}
)
DESCRIPTION_CHARS = 300  # for `product_text`: the opening of a description names the product


def product_record(facts: ProductFacts) -> dict[str, str]:
    """title, brand, model (code attributes), category (path, tags, other attributes) and
    description of a product, each a plain string ("" when the product has none)."""
    codes, others = [], []
    for key, value in facts.attributes.items():
        if text := attribute_text(value):  # a JSON null is no word (not "None")
            (codes if str(key).lower() in MODEL_NUMBER_KEYS else others).append(text)
    category = facts.category_path.replace(CATEGORY_PATH_SEPARATOR, " ")
    return {
        "title": facts.title,
        "brand": facts.brand,
        "model": " ".join(codes),
        "category": " ".join(filter(None, [category, *facts.tags, *others])),
        "description": facts.description,
    }


def records_as_columns(records: list[dict[str, str]]) -> lexical.Columns:
    return {name: [record[name] for record in records] for name in lexical.FIELDS}


def record_sha(record: dict[str, str]) -> str:
    """Changes when any field the vector reads changes (the description only in its opening)."""
    indexed = {**record, "description": record["description"][:INDEXED_DESCRIPTION_CHARS]}
    text = "\x1f".join(indexed[name] for name in lexical.FIELDS)
    return hashlib.sha256(text.encode()).hexdigest()


def product_text(facts: ProductFacts) -> str:
    """All of a product's words as one text (for the text tower, which reads plain text)."""
    record = product_record(facts)
    record["description"] = record["description"][:DESCRIPTION_CHARS]
    return " ".join(filter(None, (record[name] for name in lexical.FIELDS)))
