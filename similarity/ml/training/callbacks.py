"""Keras callbacks of a training run: validation recall per epoch, progress and cancellation."""

import json
import logging
import time
from pathlib import Path

import keras

from ..evaluation import retrieval_metrics
from .data import embed_arrays

logger = logging.getLogger(__name__)


class ValidationRecall(keras.callbacks.Callback):
    """Adds val_recall_at_1 to each epoch's logs: validation queries against a gallery (known
    products: held-out photos against training photos), or leave-one-out within the
    validation images when no gallery is given (new products)."""

    def __init__(self, embedding_model, validation):
        super().__init__()
        self.embedding_model, self.validation = embedding_model, validation

    def on_epoch_end(self, epoch, logs=None):
        check = self.validation
        queries = embed_arrays(self.embedding_model, check.images)
        if check.gallery_images is None:
            metrics = retrieval_metrics(
                queries, check.labels, queries, check.labels, exclude_self=True
            )
        else:
            gallery = embed_arrays(self.embedding_model, check.gallery_images)
            metrics = retrieval_metrics(queries, check.labels, gallery, check.gallery_labels)
        logs["val_recall_at_1"] = metrics.recall_at_1


class Progress(keras.callbacks.Callback):
    """Reports epoch, loss, images/s and ETA; stops training when cancellation is requested."""

    def __init__(self, report, should_cancel, batch_size, epochs, steps, history_file: Path):
        super().__init__()
        self.report, self.should_cancel = report, should_cancel
        self.batch_size, self.epochs, self.steps = batch_size, epochs, steps
        self.history_file = history_file
        # Epochs finished by an earlier, interrupted attempt stay in the history.
        self.history: list[dict] = (
            json.loads(history_file.read_text()) if history_file.exists() else []
        )
        self.cancelled = False
        self._started = time.monotonic()
        self._images = 0

    def on_train_batch_end(self, batch, logs=None):
        self._images += self.batch_size
        if self.should_cancel and self.should_cancel():
            self.cancelled = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.cancelled:  # Keras still ends the interrupted epoch: it is not a finished one
            return
        elapsed = time.monotonic() - self._started
        rate = self._images / elapsed if elapsed else 0.0
        remaining = (self.epochs - epoch - 1) * self.steps * self.batch_size
        entry = {
            "epoch": epoch + 1,
            "epochs": self.epochs,
            "loss": float(logs.get("loss", 0.0)),
            "val_recall_at_1": logs.get("val_recall_at_1"),
            "images_per_s": round(rate, 1),
            "eta_s": round(remaining / rate) if rate else None,
        }
        self.history = [e for e in self.history if e["epoch"] != entry["epoch"]] + [entry]
        self.history_file.write_text(json.dumps(self.history))
        logger.info(
            "epoch %s/%s loss %.4f val R@1 %s",
            epoch + 1,
            self.epochs,
            entry["loss"],
            entry["val_recall_at_1"],
        )
        if self.report:
            self.report(entry)
