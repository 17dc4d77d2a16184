from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.permissions import AllowAny

from prodsim_site.views import health, not_found, server_failed

handler404 = not_found
handler500 = server_failed

PUBLIC = {"permission_classes": [AllowAny], "throttle_classes": []}

urlpatterns = [
    # Ahead of the admin site, whose catch-all would answer these paths first.
    path("admin/similarity/", include("similarity.admin_views.urls")),
    path("admin/behaviour/", include("behaviour.admin_views")),
    path("admin/", admin.site.urls),
    # The schema and its docs are public: partners read them before they have a key.
    path("api/schema/", SpectacularAPIView.as_view(**PUBLIC), name="api-schema"),
    path(
        "api/docs/",
        # Split: the init script is a separate request, so CSP needs no inline scripts.
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", **PUBLIC),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", **PUBLIC),
        name="api-redoc",
    ),
    path("api/v1/", include("catalog.api.urls")),
    path("api/v1/", include("similarity.api.urls")),
    path("api/v1/", include("behaviour.api.urls")),
    path("health/", health, name="health"),
    path("", include("experiments.urls")),
    path("", include("storefront.urls")),
]
