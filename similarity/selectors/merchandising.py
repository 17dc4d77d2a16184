"""Curation rules in force for one similar list, and how they change it.

Blocks leave the candidate query (so guaranteed k still holds); boosts and buries scale the
fused score of matching candidates before the final order; pins put their product at a fixed
position when it passes the query's filters. Applied once, here, for pages and API alike.
"""

from dataclasses import replace

from django.utils import timezone

from ..models import MerchandisingRule
from ..models.ranking import MAX_RULE_FACTOR
from .serving import ServingState, serving_state

TIER_PINNED = "pinned"
PINNED_WHY = "Featured"  # what a pinned item says on a page, in every list


def rules_in_force(
    *, product_id: int, category_path: str, state: ServingState | None = None
) -> list[MerchandisingRule]:
    """Active rules valid now whose scope covers this source product."""
    now, state = timezone.now(), state or serving_state()
    scoped = state.rules_scoped_to(product_id=product_id, category_path=category_path)
    return [rule for rule in scoped if rule_in_force(rule, now=now)]


def shop_wide_rules(*, state: ServingState | None = None) -> list[MerchandisingRule]:
    """The rules in force scoped to no product or category: what a list without a source
    product (image and text search, trending) obeys."""
    return rules_in_force(state=state, product_id=0, category_path="")


def shop_wide_blocked_ids(*, state: ServingState | None = None) -> list[int]:
    """The products the shop blocked everywhere (search by word, photo or SKU included)."""
    return blocked_ids(shop_wide_rules(state=state))


def rule_in_force(rule: MerchandisingRule, *, now=None) -> bool:
    """Whether the serving query applies this rule now (the same test as rules_in_force)."""
    now = now or timezone.now()
    return (
        rule.is_active
        and (rule.valid_from is None or rule.valid_from <= now)
        and (rule.valid_until is None or rule.valid_until > now)
    )


def blocked_ids(rules: list[MerchandisingRule]) -> list[int]:
    return [rule.target_product_id for rule in rules if rule.kind == MerchandisingRule.Kind.BLOCK]


def score_factor(rules: list[MerchandisingRule], *, brand: str, tags: list[str]) -> float:
    """The product of all boost factors (and inverse bury factors) that match brand or tags."""
    factor, lowered = 1.0, {tag.lower() for tag in tags}
    for rule in rules:
        if rule.kind not in (MerchandisingRule.Kind.BOOST, MerchandisingRule.Kind.BURY):
            continue
        matches = (rule.brand and rule.brand.lower() == brand.lower()) or (
            rule.tag and rule.tag.lower() in lowered
        )
        if matches:
            # Within the admin's bounds also for a rule written around it (raw SQL, an older
            # version): a bury never raises, and no factor makes a score infinite.
            step = min(max(rule.factor, 1.0), MAX_RULE_FACTOR)
            factor *= step if rule.kind == MerchandisingRule.Kind.BOOST else 1 / step
    return factor


def apply_pins(items: list, rules: list[MerchandisingRule], *, allowed, k: int, make_item):
    """Insert pinned products at their positions (1-based) if the filters allow them.

    Every pinned product leaves its organic place first, so one pin never shifts another; a pin
    beyond k leaves the list as it is. `allowed()`: the queryset of the products the filters
    allow (built only when pins within k exist). `rules` come pins first by position, the
    narrowest scope first at one position, which it keeps (ServingState.rules_scoped_to).
    """
    pins = [
        rule
        for rule in rules
        # A pin without a position (the admin refuses one; the table's check lets NULL by)
        # places nothing.
        if rule.kind == MerchandisingRule.Kind.PIN and rule.position and rule.position <= k
    ]
    if not pins:
        return items
    permitted = set(
        allowed()
        .filter(pk__in=[rule.target_product_id for rule in pins])
        .values_list("pk", flat=True)
    )
    pins = [rule for rule in pins if rule.target_product_id in permitted]
    organic = {item.product.pk: item for item in items}
    result = [item for item in items if item.product.pk not in permitted]
    held: set[int] = set()
    for rule in pins:
        if rule.position in held:  # two pins at one position: the first (narrowest scope) holds it
            continue
        existing = organic.get(rule.target_product_id)
        pinned = (
            replace(existing, tier=TIER_PINNED) if existing else make_item(rule.target_product_id)
        )
        if pinned is not None and all(item.product.pk != rule.target_product_id for item in result):
            result.insert(min(rule.position - 1, len(result)), pinned)
            held.add(rule.position)
    return result[:k]
