"""Catalogue writes. Views, tasks and commands call these; nothing else writes catalog tables."""

from .imports import (
    catalogue_import,
    import_job_cancel,
    import_job_create,
    import_job_run,
    import_jobs_delete,
)
from .products import (
    UpsertOutcome,
    UpsertResult,
    category_get_or_create,
    deleted_products_forget,
    product_delete,
    product_upsert,
)

__all__ = [
    "UpsertOutcome",
    "UpsertResult",
    "catalogue_import",
    "category_get_or_create",
    "deleted_products_forget",
    "import_job_cancel",
    "import_job_create",
    "import_job_run",
    "import_jobs_delete",
    "product_delete",
    "product_upsert",
]
