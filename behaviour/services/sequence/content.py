"""What a sequence model knows of a product besides its events: its image vector under the active
image version and its text sketch under the current lexical index, side by side (each part zero
where the product has none). The model learns one projection of both, so a product without
events lands near those that look or read alike: a shop without photos still gets its titles'.

A version records where its content came from (`as_dataset`); products added after it trained
are placed from the same image version, and from the current lexical index's sketches (hashed
features: a refit changes their IDF weights, not their meaning).
"""

from dataclasses import dataclass

import numpy as np

from similarity import vector_store
from similarity.ml.lexical.sketch import SKETCH_DIMENSIONS
from similarity.models import ModelVersion
from similarity.selectors.serving import serving_state
from similarity.selectors.versions import current_lexical_index

from ...models import SequenceModelVersion

READ_BATCH = 5_000  # products' vectors read per query (one round trip, bounded memory)


@dataclass(frozen=True)
class ContentSource:
    """The image version and lexical index a model's content vectors come from, and the width
    of each part (0: the model has no such part)."""

    image_version: ModelVersion | None
    image_dim: int
    text_index: int | None
    text_dim: int

    @classmethod
    def current(cls) -> "ContentSource":
        """What a training started now reads: the serving image version, the current lexical
        index."""
        image, lexical = serving_state().version, current_lexical_index()
        return cls(
            image,
            image.vector_dim if image else 0,
            lexical.pk if lexical else None,
            SKETCH_DIMENSIONS if lexical else 0,
        )

    @classmethod
    def trained_with(cls, version: SequenceModelVersion) -> "ContentSource":
        """What `version` was trained on, for products added since (versions trained before text
        joined the content have an image part only)."""
        dataset = version.dataset
        image = ModelVersion.objects.filter(pk=dataset.get("content_version")).first()
        dims = dataset.get("content_dims") or {"image": image.vector_dim if image else 0}
        text_dim = int(dims.get("text", 0))
        lexical = current_lexical_index() if text_dim else None
        return cls(image, int(dims["image"]), lexical.pk if lexical else None, text_dim)

    @property
    def dim(self) -> int:
        return self.image_dim + self.text_dim

    def as_dataset(self) -> dict:
        """Stored in the version's dataset summary."""
        return {
            "content_version": self.image_version.pk if self.image_version else None,
            "content_text_index": self.text_index,
            "content_dims": {"image": self.image_dim, "text": self.text_dim},
        }

    def vectors(self, product_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, dim) float32 content of these products and (n,) bool: whether any part was
        found (a part the product lacks stays zero)."""
        content = np.zeros((len(product_ids), self.dim), dtype=np.float32)
        found = np.zeros(len(product_ids), dtype=bool)
        position = {int(pid): row for row, pid in enumerate(product_ids)}
        for start in range(0, len(product_ids), READ_BATCH):
            batch = [int(pid) for pid in product_ids[start : start + READ_BATCH]]
            for columns, part in self._parts(batch):
                for pid, vector in part.items():
                    content[position[pid], columns] = vector
                    found[position[pid]] = True
        return content, found

    def _parts(self, batch: list[int]):
        """(columns, product id → vector) of each part this source has."""
        if self.image_version is not None and self.image_dim:
            images = vector_store.product_vectors_for(version=self.image_version, product_ids=batch)
            yield slice(0, self.image_dim), images
        if self.text_index is not None and self.text_dim:
            sketches = vector_store.product_sketches_for(
                index_pk=self.text_index, product_ids=batch
            )
            yield slice(self.image_dim, self.dim), sketches
