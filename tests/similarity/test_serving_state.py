"""The serving state (active version, lexical index, weights, rules) kept per serving generation.

Transactional tests: the copy is only kept outside transactions, and bumps run after commit.
"""

import pytest
from django.core.cache import cache
from django.db import transaction

from catalog.models import Category
from core import generations
from similarity import cache as similar_cache
from similarity.models import FusionWeights, MerchandisingRule, ModelVersion
from similarity.selectors import merchandising
from similarity.selectors.serving import serving_state
from similarity.services.versions import model_version_activate
from tests.catalog.factories import shape_catalogue

from .vector_store.factories import store, unit, version

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_second_read_costs_no_query_and_gives_the_same_state(django_assert_num_queries):
    active = version(2, status="active")
    similar_cache.reset()
    assert serving_state().version == active
    with django_assert_num_queries(0):
        assert serving_state() is serving_state()


def test_activation_is_seen_at_once():
    first, second = version(2, status="active"), version(2, status="ready")
    similar_cache.reset()
    assert serving_state().version == first
    model_version_activate(version=second)
    assert serving_state().version == second


def test_a_rule_or_weight_saved_anywhere_is_seen_at_once():
    products = shape_catalogue(colours=1)
    similar_cache.reset()
    source = products[0]
    assert merchandising.rules_in_force(product_id=source.pk, category_path="Shapes > square") == []
    rule = MerchandisingRule.objects.create(
        kind=MerchandisingRule.Kind.BLOCK, source_product=source, target_product=products[1]
    )
    assert merchandising.rules_in_force(product_id=source.pk, category_path="Shapes > square") == [
        rule
    ]
    FusionWeights.objects.create(
        category=Category.objects.get(path="Shapes"),
        image=0.2,
        text=0.2,
        text_learned=0.2,
        attributes=0.2,
        price=0.2,
    )
    assert serving_state().weights_for("Shapes > square").price == 0.2
    assert serving_state().weights_for("Other").price != 0.2


def test_rules_are_scoped_to_product_category_path_or_everything_and_ordered():
    products = shape_catalogue(colours=1)
    squares = Category.objects.get(path="Shapes > square")
    shapes = Category.objects.get(path="Shapes")
    target = products[-1]

    def pin(position: int, **scope) -> MerchandisingRule:
        return MerchandisingRule.objects.create(
            kind=MerchandisingRule.Kind.PIN, target_product=target, position=position, **scope
        )

    everywhere = pin(3)
    leaf, parent = pin(1, source_category=squares), pin(2, source_category=shapes)
    own, other = pin(4, source_product=products[0]), pin(1, source_product=products[1])
    both = pin(5, source_product=products[0], source_category=squares)
    found = merchandising.rules_in_force(product_id=products[0].pk, category_path=squares.path)
    assert found == [leaf, parent, everywhere, own, both]  # by position; `both` only once
    assert other not in found


def test_another_process_bumping_the_generation_makes_this_one_reload():
    first, second = version(2, status="active"), version(2, status="ready")
    similar_cache.reset()
    assert serving_state().version == first
    # Another process commits an activation: this process only sees the new token in Valkey.
    ModelVersion.objects.filter(pk=first.pk).update(status="ready")
    ModelVersion.objects.filter(pk=second.pk).update(status="active")
    assert serving_state().version == first  # same generation: the kept copy answers
    cache.set(similar_cache.SERVING_KEY, "bumped-elsewhere")
    assert serving_state().version == second


def test_a_change_that_bypasses_the_services_is_seen_within_memo_seconds(monkeypatch):
    first, second = version(2, status="active"), version(2, status="ready")
    similar_cache.reset()
    assert serving_state().version == first
    ModelVersion.objects.filter(pk=first.pk).update(status="ready")
    ModelVersion.objects.filter(pk=second.pk).update(status="active")
    monkeypatch.setattr(similar_cache, "MEMO_SECONDS", 0.0)
    assert serving_state().version == second


def test_inside_a_transaction_its_own_changes_are_read_and_never_kept():
    first, second = version(2, status="active"), version(2, status="ready")
    similar_cache.reset()
    assert serving_state().version == first
    with transaction.atomic():
        ModelVersion.objects.filter(pk=first.pk).update(status="ready")
        ModelVersion.objects.filter(pk=second.pk).update(status="active")
        assert serving_state().version == second
        transaction.set_rollback(True)
    assert serving_state().version == first  # the rolled-back state was never kept


class CountingCache:
    """The cache the similar-list module talks to, counting reads of the serving generation."""

    def __init__(self, real):
        self.real, self.serving_reads = real, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def get(self, key, *args, **kwargs):
        self.serving_reads += key == similar_cache.SERVING_KEY
        return self.real.get(key, *args, **kwargs)

    def get_many(self, keys, *args, **kwargs):
        self.serving_reads += similar_cache.SERVING_KEY in keys
        return self.real.get_many(keys, *args, **kwargs)


def test_a_request_reads_the_serving_generation_once(partner_client, monkeypatch):
    products = shape_catalogue(colours=1)
    store(
        version(2, status="active"), products, [unit(1, 0), unit(0.9, 0.1), unit(0, 1), unit(-1, 0)]
    )
    counting = CountingCache(similar_cache.cache)
    monkeypatch.setattr(similar_cache, "cache", counting)
    monkeypatch.setattr(generations, "cache", counting)
    response = partner_client.get(f"/api/v1/products/{products[0].sku}/similar/")
    assert response["X-Cache"] == "miss" and response.json()["k_returned"] == 3
    assert counting.serving_reads == 1  # the cache key's read serves the serving state too
    # Outside a request every read asks Valkey: a bump from another process shows at once.
    cache.set(similar_cache.SERVING_KEY, "from-another-process")
    assert similar_cache._serving_generation() == "from-another-process"
    assert counting.serving_reads == 2


def test_a_migrate_makes_the_lists_cached_by_the_previous_release_unreachable():
    """Valkey outlives an upgrade's restart (AOF): the lists the old release cached were served
    for their hour under the same keys, whatever the new release ranks or filters."""
    from django.core.management import call_command

    before = similar_cache.entry_key(sku="MUG-1", params={"k": 8})

    call_command("migrate", verbosity=0)

    similar_cache.request_finished()  # the next request reads the generation afresh
    assert similar_cache.entry_key(sku="MUG-1", params={"k": 8}) != before
