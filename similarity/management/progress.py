"""A training's or re-embedding's progress drawn in the terminal while the command runs it."""

import threading

from django.db import connections
from tqdm import tqdm

from similarity.models import Job

PROGRESS_POLL_S = 1.0  # the job row changes once per epoch or per batch of images


class JobProgressBar:
    """Draws a job's progress while this process runs it, read from the job's row like the admin
    page reads it: the pipeline reports there, so the command needs no hook of its own."""

    def __init__(self, *, job_id: int, disable: bool, file=None):
        self.job_id = job_id
        self.unit = ""
        self.bar = tqdm(total=0, disable=disable, file=file)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join()
        self.show(self._progress())  # the last report, however fast the job was
        self.bar.close()

    def _progress(self) -> dict:
        return Job.objects.filter(pk=self.job_id).values_list("progress", flat=True).first() or {}

    def _follow(self) -> None:
        try:
            while not self.stopped.wait(PROGRESS_POLL_S):
                self.show(self._progress())
        finally:
            connections.close_all()  # this thread's own connections

    def show(self, progress: dict) -> None:
        """Epochs while training, images while embedding; loss and Recall@1 alongside."""
        if "total" in progress:
            total, done, unit = progress["total"], progress["done"], "img"
        elif "epochs" in progress:
            total, done, unit = progress["epochs"], progress["epoch"], "epoch"
        else:
            return
        if (self.bar.total, self.unit) != (total, unit):
            self.bar.reset(total=total)
            self.bar.unit = self.unit = unit
        self.bar.set_description(progress.get("phase", ""), refresh=False)
        if progress.get("loss") is not None:
            recall = progress.get("val_recall_at_1")
            self.bar.set_postfix(
                loss=f"{progress['loss']:.3f}",
                val_r1="–" if recall is None else f"{recall:.3f}",
                refresh=False,
            )
        self.bar.update(done - self.bar.n)
