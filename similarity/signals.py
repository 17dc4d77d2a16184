"""Curation rows change every cached similar list: admin edits, shell edits and services alike;
and so does a `migrate` (an upgrade: Valkey, holding the lists the old release cached, outlives
the restart, and the new release may rank or filter otherwise)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import cache as similar_cache
from .models import FusionWeights, MerchandisingRule


@receiver([post_save, post_delete], sender=MerchandisingRule)
@receiver([post_save, post_delete], sender=FusionWeights)
def curation_changed(sender, **kwargs) -> None:
    similar_cache.serving_changed()


def lists_of_the_old_release_dropped(**kwargs) -> None:
    similar_cache.reset()  # at once: migrate runs no request and no transaction to wait for
