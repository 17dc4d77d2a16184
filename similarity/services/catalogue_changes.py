"""How similarity follows the catalogue: the listener it subscribes to `catalog.changes`.

Work is enqueued after commit, so workers see the rows; the web process only enqueues (no
TensorFlow here).
"""

from catalog import selectors as catalog_selectors
from catalog.changes import CatalogueListener
from core.tasks import enqueue_on_commit

from .. import cache as similar_cache
from .. import vector_store
from ..models import ModelVersion
from ..selectors import active_version

TEXTS_REFRESH_TASK = "similarity.tasks.product_texts_refresh_task"
EMBED_TASK = "similarity.tasks.products_embed_task"
LEXICAL_REBUILD_TASK = "similarity.tasks.lexical_index_rebuild_task"
# Products per embedding message: each message must end within the embedding task's time limit
# (an hour; a few thousand photos take minutes, a season's import many hours), and a training
# queued meanwhile on the one-slot ml queue waits for one message, not the whole import.
EMBED_CHUNK = 1_000


def similar_lists_stale(*, product_ids: list[int]) -> None:
    """Cached similar lists of these source products must not be served again."""
    similar_cache.products_changed(skus=catalog_selectors.product_skus(ids=list(product_ids)))


def on_products_changed(*, product_ids: list[int], images_changed: bool) -> None:
    """A few products changed: refresh their text vectors, embed new images (active version),
    and those of products on sale without a vector of it (one put back on sale: a training
    embeds the products on sale only)."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    similar_lists_stale(product_ids=ids)
    enqueue_on_commit(TEXTS_REFRESH_TASK, ids)
    version = active_version()
    if version is not None:
        image_vectors_follow(version=version, product_ids=ids, images_changed=images_changed)


def image_vectors_follow(
    *, version: ModelVersion, product_ids: list[int], images_changed: bool, candidate: bool = False
) -> None:
    """Queue the embedding with `version` of these products' images: all of them when images
    changed, else those on sale without an up-to-date vector of it. `candidate`: `version` is
    an A/B test's ready candidate, and the task embeds with it; otherwise with whichever version
    is active when it runs."""
    ids = product_ids if images_changed else _without_image_vectors(version, product_ids)
    if candidate:
        _embed_in_chunks(ids, version.pk)
    else:
        _embed_in_chunks(ids)


def _embed_in_chunks(product_ids: list[int], *version_pk: int) -> None:
    for start in range(0, len(product_ids), EMBED_CHUNK):
        enqueue_on_commit(EMBED_TASK, product_ids[start : start + EMBED_CHUNK], *version_pk)


def _without_image_vectors(version: ModelVersion, product_ids: list[int]) -> list[int]:
    """Those of these products on sale with a photo that has no up-to-date vector of `version`."""
    records = catalog_selectors.image_records(product_ids=product_ids)
    stored = vector_store.embedded_image_shas(
        version=version, image_ids=[record.image_id for record in records]
    )
    return sorted({r.product_id for r in records if stored.get(r.image_id) != r.sha256})


def on_product_deleted(*, sku: str) -> None:
    """A product is gone: its own cached lists must answer 404 from now on, and every other
    cached list (similar, and behaviour's on the same serving generation) may name it."""
    similar_cache.products_changed(skus=[sku])
    similar_cache.serving_changed()


def on_products_withdrawn(*, product_ids: list[int]) -> None:
    """Products were taken off sale: a shop withdrawing one (a recall, a legal stop) expects it
    gone from every list at once, and which cached lists name it is not known, so all go. Rare
    enough (a flip, never a re-sync of an inactive product; once per import) to afford that."""
    if product_ids:
        similar_cache.serving_changed()


def on_products_sold_out(*, product_ids: list[int]) -> None:
    """Products sold out: the lists that show products in stock only drop them at once (the
    others show out-of-stock products anyway and keep their entries)."""
    if product_ids:
        similar_cache.stock_sold_out()


def on_catalogue_changed(*, product_ids: list[int]) -> None:
    """A bulk import changed these products: re-vectorise those whose words changed (the
    refresh rebuilds the whole index once the IDF drifted) and embed whatever images are new."""
    if not product_ids:
        return
    similar_lists_stale(product_ids=product_ids)
    enqueue_on_commit(TEXTS_REFRESH_TASK, sorted(set(product_ids)))
    if active_version() is not None:
        _embed_in_chunks(sorted(set(product_ids)))


LISTENER = CatalogueListener(
    products_changed=on_products_changed,
    product_deleted=on_product_deleted,
    catalogue_changed=on_catalogue_changed,
    products_withdrawn=on_products_withdrawn,
    products_sold_out=on_products_sold_out,
)
