import pytest

from similarity import fusion
from similarity.models import FusionWeights
from similarity.services.lexical import lexical_index_rebuild
from similarity.services.tuning import GRID, fusion_evaluate, fusion_tune, split_products
from tests.catalog.factories import shape_catalogue
from tests.similarity.factories import train_tiny

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_root")]


def test_tuning_picks_the_best_weighting_on_validation_products_and_stores_it():
    shape_catalogue(groups_per_shape=2, colours=3)
    version, _ = train_tiny()
    lexical_index_rebuild()
    validation, test = split_products(version, "val"), split_products(version, "test")
    assert validation and not {p.pk for p in validation} & {p.pk for p in test}

    weights, table = fusion_tune(version=version)

    assert len(table) == len(list(__import__("itertools").product(*GRID.values())))
    best = max(row["category_precision_at_10"] for row in table)
    assert fusion_evaluate(products=validation, weights=weights)[
        "category_precision_at_10"
    ] == pytest.approx(best)
    stored = FusionWeights.objects.get(category=None)
    assert (
        fusion.Weights(
            stored.image, stored.text, stored.text_learned, stored.attributes, stored.price
        )
        == weights
    )
