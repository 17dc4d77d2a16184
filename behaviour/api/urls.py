from django.urls import path

from .events import EventBatchApi
from .lists import AlsoViewedApi, BoughtTogetherApi, TrendingApi
from .recommendations import VisitorRecommendationsApi
from .recommendations_batch import VisitorRecommendationsBatchApi
from .visitors import VisitorApi, VisitorExportApi

urlpatterns = [
    path("events/", EventBatchApi.as_view(), name="api-events"),
    path("visitors/<str:visitor_id>/", VisitorApi.as_view(), name="api-visitor"),
    path(
        "visitors/<str:visitor_id>/export/", VisitorExportApi.as_view(), name="api-visitor-export"
    ),
    path(
        "visitors/<str:visitor_id>/recommendations/",
        VisitorRecommendationsApi.as_view(),
        name="api-visitor-recommendations",
    ),
    path(
        "recommendations/batch/",
        VisitorRecommendationsBatchApi.as_view(),
        name="api-recommendations-batch",
    ),
    path(
        "products/<str:sku>/bought-together/",
        BoughtTogetherApi.as_view(),
        name="api-bought-together",
    ),
    path("products/<str:sku>/also-viewed/", AlsoViewedApi.as_view(), name="api-also-viewed"),
    path("trending/", TrendingApi.as_view(), name="api-trending"),
]
