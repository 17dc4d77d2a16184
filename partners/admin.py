from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import PartnerApiKey

# The library registers its own concrete key model; prodsim authenticates partner keys only, so
# a second "API keys" page would create keys that can never be used.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(APIKeyModelAdmin):
    """Create a key here: it is shown once, then only its prefix is kept (hashed at rest)."""

    list_display = [*APIKeyModelAdmin.list_display, "scope"]
    list_filter = [*APIKeyModelAdmin.list_filter, "scope"]
