"""The sequence version page's chart: training loss and validation Recall@k per epoch, drawn by
the image versions' chart (similarity.charts) with the sequence histories' key and ids
(`seq-loss-<n>`, `seq-recall-<n>`)."""

from similarity.charts import training_curves_svg


def sequence_curves_svg(*, series: dict[str, list[dict]], k: int = 20) -> str:
    """`series`: label → a version's history ({"epoch", "loss", "recall"} per epoch)."""
    return training_curves_svg(
        series=series,
        recall_key="recall",
        recall_title=f"validation Recall@{k}",
        gid_prefix="seq",
    )
