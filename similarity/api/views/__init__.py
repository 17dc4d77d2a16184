"""The similarity JSON API, one module per resource group; the URLconf imports from here."""

from .search import ImageSearchApi, ProductMatchApi, TextSearchApi
from .similar import SimilarBatchApi, SimilarProductsApi
from .versions import JobDetailApi, ModelVersionListApi

__all__ = [
    "ImageSearchApi",
    "JobDetailApi",
    "ModelVersionListApi",
    "ProductMatchApi",
    "SimilarBatchApi",
    "SimilarProductsApi",
    "TextSearchApi",
]
