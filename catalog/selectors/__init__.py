"""Catalogue reads for pages, the API and other apps (similarity and behaviour read products
through here, never through the models): import them from `catalog.selectors`."""

from ..ranking_facts import RankingFacts as RankingFacts  # re-exported: similarity ranks with it
from .categories import category_get, category_list_with_counts
from .facts import FACT_FIELDS, ProductFacts, product_facts, product_facts_of
from .filters import (
    ProductFilter,
    matching_ids_sql,
    product_ids_allowed,
    products_matching,
    products_newest,
    products_with_brand_or_tag,
)
from .images import ImageRecord, image_read, image_records
from .imports import IMPORT_COUNTS, import_job_progress
from .products import (
    primary_images_attach,
    product_any,
    product_get,
    product_list,
    products_by_ids,
    products_ranked,
)
from .sku_lookups import (
    product_ids_by_sku,
    product_ids_for_skus,
    product_ids_with_sku,
    product_sku_not_matching,
    product_sku_stored,
    product_skus,
    product_skus_by_id,
)

__all__ = [
    "FACT_FIELDS",
    "IMPORT_COUNTS",
    "ImageRecord",
    "ProductFacts",
    "ProductFilter",
    "RankingFacts",
    "category_get",
    "category_list_with_counts",
    "image_read",
    "image_records",
    "import_job_progress",
    "matching_ids_sql",
    "primary_images_attach",
    "product_any",
    "product_facts",
    "product_facts_of",
    "product_get",
    "product_ids_allowed",
    "product_ids_by_sku",
    "product_ids_for_skus",
    "product_ids_with_sku",
    "product_list",
    "product_sku_not_matching",
    "product_sku_stored",
    "product_skus",
    "product_skus_by_id",
    "products_by_ids",
    "products_matching",
    "products_newest",
    "products_ranked",
    "products_with_brand_or_tag",
]
