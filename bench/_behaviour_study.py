"""bench/behaviour_quality.py's method study: its tables, and a cold-path alternative.

The study (behaviour.services.evaluation_study) measures every bought-together variant on a
validation split inside the learning period and on the test months; the alternative cold path
asks the served content neighbours of a product without co-purchases for their own ranking
first and fills with trending, so it can be read beside the served complements tier.
"""

from _report import markdown_table


def study_markdown(study: dict) -> str:
    """The variants side by side, the chosen one in bold, and the two ceilings."""
    header = [
        "variant",
        f"validation HR@{study['k']}",
        f"test HR@{study['k']}",
        "test, query without co-purchases before",
    ]
    rows = []
    for name, row in study["variants"].items():
        label = f"**{name} (chosen)**" if name == study["chosen"] else name
        rows.append([label, _cell(row["validation"]), _cell(row["test"]), _cell(row["test_cold"])])
    ceilings = study["ceilings"]
    for key, label in (
        ("all", "ceiling: the period's own counts"),
        ("seen", "ceiling: the period's own counts, pairs co-purchased before only"),
    ):
        rows.append([label, _cell(ceilings["validation"][key]), _cell(ceilings["test"][key]), ""])
    raw = study["variants"]["co-purchase counts"]["test"]
    best = max(
        (row["test"] for name, row in study["variants"].items() if row["test"]), default=None
    )
    notes = (
        f"Validation: learn before {study['validate_from'][:10]}, measure to "
        f"{study['test_from'][:10]}; test: learn before {study['test_from'][:10]}. A variant "
        "replaces the served scorer only when it beats it on validation by 2 % "
        "(`behaviour.services.evaluation_study.MIN_GAIN`); the test columns are read once."
    )
    if raw and best:
        ceiling = ceilings["test"]["all"]
        notes += (
            f" Best test figure {best:.4f} = {best / raw:.2f} × raw counts; the test months' own "
            f"counts, the best any one list per product can do, reach {ceiling:.4f} = "
            f"{ceiling / raw:.2f} × raw."
        )
    return markdown_table(header, rows) + "\n\n" + notes


def neighbours_first(product, k: int) -> list[int]:
    """Product ids: the served content neighbours by closeness, then the most trending."""
    from behaviour.models import ProductPopularity
    from behaviour.selectors.lists import ContentNeighbours

    closeness = ContentNeighbours(product).closeness
    ranked = sorted(closeness, key=lambda pid: (-closeness[pid], pid))[:k]
    if len(ranked) < k:
        taken = [product.pk, *ranked]
        popular = (
            ProductPopularity.objects.exclude(product_id__in=taken)
            .order_by("-score", "product_id")
            .values_list("product_id", flat=True)[: k - len(ranked)]
        )
        ranked += list(popular)
    return ranked


def _cell(value) -> str:
    return "–" if value is None else f"{value:.4f}"
