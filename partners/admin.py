from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
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

    def save_model(self, request, obj, form=None, change=False) -> None:
        # The library shows a new key in a message, which Django's default storage puts in a
        # cookie (signed, not encrypted): the key would sit in the browser until the next page.
        if obj.pk:
            obj.save()
            return
        request.partner_key_created = self.model.objects.assign_key(obj)
        obj.save()

    def response_add(self, request, obj, post_url_continue=None):
        """The new key, once, in this response alone (never cached, never stored)."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "key": obj,
            "secret": request.partner_key_created,
            "title": f"API key for {obj.name}",
        }
        response = TemplateResponse(request, "admin/partners/key_created.html", context)
        add_never_cache_headers(response)
        return response
