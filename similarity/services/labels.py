"""What a training photo's label is: the label sources a version trains with ("group",
"category", "product"), and the one "auto" picks for a catalogue."""

import logging

from catalog.selectors import ImageRecord

logger = logging.getLogger(__name__)

# "auto" uses variant groups when enough products have partners to learn from; otherwise the
# category is the only signal of "same kind of thing".
AUTO_GROUP_MIN_SHARE = 0.2
MIN_LABELS = 2  # one label for every photo: no batch has a negative, nothing is learned
ERROR_ONE_LABEL = (
    'by label source "{source}" every photo has one label: nothing is learned and every figure '
    "would be 1.000; pick a label source that tells the photos apart"
)


class OneLabelOnly(ValueError):
    """The label source gives every photo the same label: no version is worth training."""


def unit_of(record: ImageRecord) -> str:
    """What is held out whole: its variant group, or the product itself."""
    return f"group:{record.group_id}" if record.group_id else f"product:{record.product_id}"


def resolve_label_source(records: list[ImageRecord], requested: str) -> str:
    """`requested`, or what "auto" makes of this catalogue: variant groups when enough products
    have partners, else categories, else each product its own label; a source that would give
    every photo one label (a partner sending its whole collection as group_id) is passed over,
    since with no negative in any batch nothing is learned. Raises OneLabelOnly when the
    source (requested or auto's last resort) still gives one label: its figures would all be
    1.000 by construction and auto-activation would take them for real."""
    source = requested if requested != "auto" else _auto_source(records)
    if len({label_for(record, source) for record in records}) < MIN_LABELS:
        raise OneLabelOnly(ERROR_ONE_LABEL.format(source=source))
    return source


def _auto_source(records: list[ImageRecord]) -> str:
    products_by_group: dict[str, set[int]] = {}
    for record in records:
        if record.group_id:
            products_by_group.setdefault(record.group_id, set()).add(record.product_id)
    partnered = sum(len(products) for products in products_by_group.values() if len(products) > 1)
    products = len({record.product_id for record in records})
    grouped = bool(products) and partnered / products >= AUTO_GROUP_MIN_SHARE
    for source in ("group", "category") if grouped else ("category",):
        if len({label_for(record, source) for record in records}) >= MIN_LABELS:
            return source
        logger.warning("label source auto: by %s, every photo has one label; passed over", source)
    return "product"


def label_for(record: ImageRecord, source: str) -> str:
    if source == "category" and record.category_path:
        return f"category:{record.category_path}"
    if source == "product":
        return f"product:{record.product_id}"
    return unit_of(record)  # group, or the product itself: its images are views of one thing
