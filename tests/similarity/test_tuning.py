from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product
from similarity import fusion
from similarity.models import FusionWeights, ModelVersion
from similarity.services import tuning
from similarity.services.lexical import lexical_index_rebuild
from similarity.services.tuning import GRID, NothingToTuneOn, fusion_tune, split_products
from tests.catalog.factories import shape_catalogue
from tests.similarity.factories import train_tiny

pytestmark = pytest.mark.django_db

SHOP_WEIGHTS = dict(image=0.7, text=0.2, text_learned=0.0, attributes=0.05, price=0.05)


@pytest.fixture(scope="module")
def trained(module_rows):
    with module_rows():
        shape_catalogue(groups_per_shape=2, colours=3)
        version, _ = train_tiny()
        lexical_index_rebuild()
        FusionWeights.objects.update_or_create(category=None, defaults=SHOP_WEIGHTS)
    return version.pk


@pytest.fixture
def media_root(trained, settings):
    """The module's photos (module_rows), not a folder per test."""
    return settings.MEDIA_ROOT


@pytest.fixture
def version(trained):
    return ModelVersion.objects.get(pk=trained)  # as this test's rollback left it


def _shop_weights_kept() -> bool:
    row = FusionWeights.objects.get(category=None)
    return (row.image, row.text) == (SHOP_WEIGHTS["image"], SHOP_WEIGHTS["text"])


def test_tuning_picks_the_best_weighting_on_validation_products_and_stores_it(version, monkeypatch):
    validation, test = split_products(version, "val"), split_products(version, "test")
    assert validation and not {p.pk for p in validation} & {p.pk for p in test}
    scored_on = []

    def image_heavy_wins(*, products, weights):  # the tiny catalogue ties every weighting
        scored_on.append({p.pk for p in products})
        return {"category_precision_at_10": weights.image, "group_recall_at_10": 1.0}

    monkeypatch.setattr(tuning, "fusion_evaluate", image_heavy_wins)

    weights, table = fusion_tune(version=version)

    assert len(table) == len(list(__import__("itertools").product(*GRID.values())))
    assert scored_on[0] == {p.pk for p in validation}
    assert weights.image == max(GRID["image"])
    stored = FusionWeights.objects.get(category=None)
    assert fusion.Weights(*(getattr(stored, name) for name in fusion.SIGNALS)) == weights


def test_tuning_where_every_weighting_scores_the_same_keeps_the_shops_weights(version):
    with pytest.raises(NothingToTuneOn, match="every weighting scores the same"):
        fusion_tune(version=version)

    assert _shop_weights_kept()


def test_tuning_on_products_without_a_category_neither_claims_precision_nor_stores(version):
    """Uncategorised items were "same category" as an uncategorised source (None == None):
    every weighting scored P@10 1.000 and the grid's first row replaced the shop's weights."""
    Product.objects.update(category=None)
    out = StringIO()

    with pytest.raises(CommandError, match="no active validation products with a category"):
        call_command("tune_fusion", stdout=out)

    assert "P@10" not in out.getvalue()
    assert _shop_weights_kept()
