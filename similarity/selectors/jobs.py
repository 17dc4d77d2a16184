"""What the admin's live job page shows: a training or embedding job's real state, from its row."""

from core.jobs import live_state

from ..models import Job


def job_progress(*, job: Job) -> dict:
    """The job's state and its latest progress report, as the progress endpoint returns it.

    Keys are always present (None when the job has not reported that number yet), so the page's
    script can write every field on every poll. `failed` counts images that could not be embedded.
    """
    progress = job.progress
    return {
        **live_state(job),
        "kind": job.kind,
        "phase": progress.get("phase", ""),
        "epoch": progress.get("epoch"),
        "epochs": progress.get("epochs"),
        "loss": progress.get("loss"),
        "val_recall_at_1": progress.get("val_recall_at_1"),
        "images_per_s": progress.get("images_per_s"),
        "eta_s": progress.get("eta_s"),
        "done": progress.get("done"),
        "total": progress.get("total"),
        "failed": progress.get("failed", 0),
        "progress_summary": job_progress_summary(job=job),
    }


def job_progress_summary(*, job: Job) -> str:
    """One line for lists: 'training · epoch 2/5 loss 1.500 · val R@1 0.750 · 40.0 img/s'."""
    p = job.progress
    parts = [p.get("phase", "")]
    if "epoch" in p:
        parts.append(f"epoch {p['epoch']}/{p['epochs']} loss {p['loss']:.3f}")
        if p.get("val_recall_at_1") is not None:
            parts.append(f"val R@1 {p['val_recall_at_1']:.3f}")
    if "total" in p:
        parts.append(f"{p['done']}/{p['total']} images")
    if p.get("images_per_s"):
        parts.append(f"{p['images_per_s']} img/s")
    if p.get("eta_s") is not None:
        parts.append(f"ETA {p['eta_s']} s")
    return " · ".join(part for part in parts if part) or "–"
