from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin

from .models import PartnerApiKey


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(APIKeyModelAdmin):
    """Create a key here: it is shown once, then only its prefix is kept (hashed at rest)."""

    list_display = [*APIKeyModelAdmin.list_display, "scope"]
    list_filter = [*APIKeyModelAdmin.list_filter, "scope"]
