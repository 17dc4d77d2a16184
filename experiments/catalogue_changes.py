"""An image-model A/B test's candidate follows the catalogue as the active version does.

Similarity embeds new and changed images with the active version only; a candidate, ready and
not active, would serve its arm without vectors of the products added or re-photographed since
it trained (its arm then falls back to text and category fill for them, and their photos match
by the old picture), which biases the test against it. While a test runs, the same changes are
embedded with its candidate too.
"""

from catalog.changes import CatalogueListener
from similarity.services.catalogue_changes import image_vectors_follow

from .models import Experiment
from .selectors import running_experiment


def on_products_changed(*, product_ids: list[int], images_changed: bool) -> None:
    candidate = _candidate()
    if candidate is not None and product_ids:
        image_vectors_follow(
            version=candidate,
            product_ids=product_ids,
            images_changed=images_changed,
            candidate=True,
        )


def on_catalogue_changed(*, product_ids: list[int]) -> None:
    on_products_changed(product_ids=sorted(set(product_ids)), images_changed=True)


def _candidate():
    """The similar-items test's candidate version while it serves its arm."""
    experiment = running_experiment()
    if experiment is None or experiment.variant != Experiment.Variant.MODEL_VERSION:
        return None
    return experiment.candidate


def _nothing(**_) -> None:
    """A withdrawal, sell-out or deletion changes no image vector: similarity's own listener
    drops the cached lists, both arms' alike."""


LISTENER = CatalogueListener(
    products_changed=on_products_changed,
    product_deleted=_nothing,
    catalogue_changed=on_catalogue_changed,
    products_withdrawn=_nothing,
    products_sold_out=_nothing,
)
