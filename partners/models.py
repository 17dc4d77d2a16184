from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


class PartnerApiKey(AbstractAPIKey):
    """A partner's API key: stored hashed, shown once at creation, revocable, may expire.

    Read keys may query; write keys may also upsert and delete products.
    """

    class Scope(models.TextChoices):
        READ = "read"
        WRITE = "write"

    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"
