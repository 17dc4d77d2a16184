"""What parsing a catalogue CSV yields: a typed row, or the problem with a line."""

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class ProductRow:
    """One valid CSV row, typed and normalised."""

    line: int
    sku: str
    title: str
    price: Decimal
    currency: str
    description: str = ""
    brand: str = ""
    category_path: str = ""
    tags: list[str] = field(default_factory=list)
    attributes: dict = field(default_factory=dict)
    in_stock: bool = True
    group_id: str = ""
    is_active: bool = True
    image_paths: list[str] = field(default_factory=list)
    # The SKU as the file wrote it, when its NFC form (`sku`) differs: a product stored with
    # that spelling before SKUs were normalised is updated, not doubled (imports._import_row).
    sku_as_written: str = ""


@dataclass(frozen=True)
class RowProblem:
    """Why a line (or, with line 1, the header) could not be used as it is."""

    line: int
    message: str
    column: str = ""
    sku: str = ""
    fatal_for_row: bool = True


class CsvHeaderError(ValueError):
    """The header makes the whole file unusable (e.g. no sku column)."""
