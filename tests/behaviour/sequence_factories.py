"""A history with a planted sequence pattern and a model config small enough to learn it in a
few seconds: shoppers who view a lantern go on to buy tea lights; mugs lead to saucers. Eight
distractor products sit beside them."""

import datetime as dt

from django.utils import timezone

from behaviour.ml.sequence.config import SequenceConfig

FOLLOWS = {"LANTERN": "TEALIGHT", "MUG": "SAUCER"}  # viewed first → bought next
SKUS = [*FOLLOWS, *FOLLOWS.values(), *(f"X{n}" for n in range(8))]
TINY = SequenceConfig(
    architecture="gru",
    dim=8,
    max_len=4,
    epochs=4,
    batch_size=16,
    patience=4,
    learning_rate=0.03,
    use_content=False,
    seed=1,
)


def planted(visitors: int, *, days_ago: float) -> list[dict]:
    """Events as the API takes them: each visitor views a pattern's first product, then buys
    its follower (one order)."""
    now, items = timezone.now(), []
    for number in range(visitors):
        first = list(FOLLOWS)[number % 2]
        at = now - dt.timedelta(days=days_ago, minutes=number)
        for step, (sku, kind) in enumerate(((first, "view"), (FOLLOWS[first], "purchase"))):
            event = {
                "event_id": f"{days_ago}-{number}-{step}",
                "kind": kind,
                "sku": sku,
                "visitor_id": f"visitor-{number}",
                "occurred_at": (at + dt.timedelta(seconds=step)).isoformat(),
            }
            if kind == "purchase":
                event.update(order_id=f"o-{days_ago}-{number}", quantity=1, unit_price="1.00")
            items.append(event)
    return items


def sequence_catalogue(settings, tmp_path) -> None:
    """The SKUS as products (titled by name), model files under tmp_path/models."""
    from tests.catalog.factories import product

    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    for sku in SKUS:
        product(sku=sku, title=sku.title())
