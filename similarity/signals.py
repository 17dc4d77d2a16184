"""Curation rows change every cached similar list: admin edits, shell edits and services alike."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import cache as similar_cache
from .models import FusionWeights, MerchandisingRule


@receiver([post_save, post_delete], sender=MerchandisingRule)
@receiver([post_save, post_delete], sender=FusionWeights)
def curation_changed(sender, **kwargs) -> None:
    similar_cache.serving_changed()
