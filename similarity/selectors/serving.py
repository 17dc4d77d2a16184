"""What every similar list depends on, loaded together and kept per serving generation.

The active model version, the current lexical index, the fusion weights and the merchandising
rules change a few times a day, yet every uncached similar request needs all four: four queries,
about a fifth of a request at 100k products (bench/similar_latency.py). Every change to them
bumps the serving generation (cache.py), so this process keeps one copy per generation.
"""

import bisect
import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from catalog.category_paths import CATEGORY_PATH_SEPARATOR

from .. import cache as similar_cache
from .. import fusion
from ..models import FusionWeights, LexicalIndex, MerchandisingRule, ModelVersion


@dataclass(frozen=True)
class ServingState:
    version: ModelVersion | None
    lexical_index: LexicalIndex | None
    weights: dict[str, fusion.Weights]  # category path ("" for the global row) → weights
    # Active rules (validity dates are checked per request) by the scope they apply to.
    rules_by_product: dict[int, list[MerchandisingRule]] = field(default_factory=dict)
    rules_by_category: dict[str, list[MerchandisingRule]] = field(default_factory=dict)
    global_rules: list[MerchandisingRule] = field(default_factory=list)
    # Every rule's valid_from and valid_until, sorted: how many of them have passed names the
    # rules in force, so cached lists expire when a rule starts or ends (rules_epoch).
    rule_boundaries: tuple[datetime.datetime, ...] = ()

    def rules_epoch(self, now: datetime.datetime) -> int:
        """The number of rule start and end times passed by `now`: it changes exactly when a
        rule comes into force or leaves it."""
        return bisect.bisect_right(self.rule_boundaries, now)

    def weights_for(self, category_path: str) -> fusion.Weights:
        """The deepest category's weights on the path, else the global row, else the defaults."""
        levels = category_path.split(CATEGORY_PATH_SEPARATOR) if category_path else []
        for depth in range(len(levels), -1, -1):
            if (row := self.weights.get(CATEGORY_PATH_SEPARATOR.join(levels[:depth]))) is not None:
                return row
        return fusion.Weights(**settings.PRODSIM_FUSION_WEIGHTS)

    def rules_scoped_to(self, *, product_id: int, category_path: str) -> list[MerchandisingRule]:
        """Active rules for this source product, its category path or everything, in order:
        pins by position and, at one position, the narrowest scope first (the product's, the
        deepest category's, then the shop-wide one: apply_pins keeps that one), then the rules
        without a position (blocks, boosts, buries)."""
        levels = category_path.split(CATEGORY_PATH_SEPARATOR) if category_path else []
        scoped = [(0, rule) for rule in self.rules_by_product.get(product_id, ())]
        for depth in range(len(levels), 0, -1):
            path = CATEGORY_PATH_SEPARATOR.join(levels[:depth])
            scoped += [
                (1 + len(levels) - depth, rule) for rule in self.rules_by_category.get(path, ())
            ]
        scoped += [(1 + len(levels), rule) for rule in self.global_rules]
        scoped.sort(
            key=lambda pair: (pair[1].position is None, pair[1].position or 0, pair[0], pair[1].pk)
        )
        return [rule for _, rule in scoped]


def serving_state() -> ServingState:
    return similar_cache.serving_memo(_load)


def serving_version() -> ModelVersion | None:
    """The image version this process ranks with (memoised per serving generation). A query
    embedded for it must read this one, not the database's active row: around an activation the
    two differ, and a photo's vector would be searched among another version's vectors."""
    return serving_state().version


def _load() -> ServingState:
    weights = {
        row.category.path if row.category_id else "": fusion.Weights(
            *(getattr(row, name) for name in fusion.SIGNALS)
        )
        for row in FusionWeights.objects.select_related("category")
    }
    by_product, by_category, everywhere = defaultdict(list), defaultdict(list), []
    rules = MerchandisingRule.objects.filter(is_active=True).select_related("source_category")
    for rule in rules:
        # The narrowest scope given (the admin refuses a product and a category together; a
        # rule written with both elsewhere keeps to the product, as the admin's list shows it).
        if rule.source_product_id is not None:
            by_product[rule.source_product_id].append(rule)
        elif rule.source_category_id is not None:
            by_category[rule.source_category.path].append(rule)
        else:
            everywhere.append(rule)
    return ServingState(
        version=ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first(),
        # The IDF table (megabytes of JSON for a large catalogue) loads only where it is read.
        lexical_index=LexicalIndex.objects.filter(is_current=True).defer("idf").first(),
        weights=weights,
        rules_by_product=dict(by_product),
        rules_by_category=dict(by_category),
        global_rules=everywhere,
        rule_boundaries=tuple(
            sorted(
                moment
                for rule in rules
                for moment in (rule.valid_from, rule.valid_until)
                if moment is not None
            )
        ),
    )


def rules_epoch() -> int:
    """A cache key part for lists the rules shape: a rule that starts or ends changes the lists
    without any row changing, so without a bump."""
    return serving_state().rules_epoch(timezone.now())
