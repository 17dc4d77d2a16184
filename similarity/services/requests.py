"""What the catalogue tells similarity when products change. Work is enqueued after commit,
so workers see the rows; the web process only enqueues (no TensorFlow here)."""

from catalog import selectors as catalog_selectors

from .. import cache as similar_cache
from ..selectors import active_version


def similar_lists_stale(*, product_ids: list[int]) -> None:
    """Cached similar lists of these source products must not be served again."""
    similar_cache.products_changed(skus=catalog_selectors.product_skus(ids=list(product_ids)))


def products_changed_request(*, product_ids: list[int], images_changed: bool) -> None:
    """A few products changed: refresh their text vectors, embed new images (active version)."""
    from ..tasks import product_texts_refresh_task, products_embed_task

    ids = sorted(set(product_ids))
    if not ids:
        return
    similar_lists_stale(product_ids=ids)
    product_texts_refresh_task.delay_on_commit(ids)
    if images_changed and active_version() is not None:
        products_embed_task.delay_on_commit(ids)


def product_deleted_request(*, sku: str) -> None:
    """A product is gone: its cached similar list must answer 404 from now on."""
    similar_cache.products_changed(skus=[sku])


def catalogue_changed_request(*, product_ids: list[int]) -> None:
    """A bulk import changed these products: rebuild the lexical index (its IDF moved) and embed
    whatever images are new."""
    from ..tasks import lexical_index_rebuild_task, products_embed_task

    if not product_ids:
        return
    similar_lists_stale(product_ids=product_ids)
    lexical_index_rebuild_task.delay_on_commit()
    if active_version() is not None:
        products_embed_task.delay_on_commit(sorted(set(product_ids)))
