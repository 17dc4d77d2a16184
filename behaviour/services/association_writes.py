"""Replacing the derived lists: COPY into the tables inside the refresh's transaction."""

import numpy as np
from django.conf import settings
from django.db import connection

from behaviour.ml import cooccurrence

from ..models import Event, ItemAssociation, ProductPopularity
from .event_arrays import EventArrays

ASSOCIATION_COLUMNS = "(kind, product_id, other_id, score, support, recent)"


def associations_replace(kind: str, partners: dict, arrays: EventArrays) -> int:
    """This kind's lists become `partners` (index arrays, see refresh._partners); the row count."""
    ItemAssociation.objects.filter(kind=kind).delete()
    if not partners:
        return 0
    ids = arrays.product_ids
    rows = zip(
        ids[partners["rows"]].tolist(),
        ids[partners["cols"]].tolist(),
        partners["scores"].tolist(),
        partners["support"].tolist(),
        np.rint(partners["recent"]).astype(np.int64).tolist(),
        strict=True,
    )
    with connection.cursor() as cursor:
        table = ItemAssociation._meta.db_table
        with cursor.copy(f"COPY {table} {ASSOCIATION_COLUMNS} FROM STDIN") as copy:
            for product, other, score, support, recent in rows:
                copy.write_row((kind, product, other, score, support, recent))
    return len(partners["rows"])


def popularity_replace(arrays: EventArrays, now: float) -> int:
    """Trending: purchases (one per order) and views, decayed by the trending half-life; views
    count a tenth of a purchase, so a catalogue without orders still trends by its views."""
    ProductPopularity.objects.all().delete()
    n = len(arrays.product_ids)
    if not n:
        return 0
    half_life = settings.PRODSIM_TRENDING_HALF_LIFE_DAYS
    weights = cooccurrence.decay(arrays.times, now, half_life)
    bought = arrays.kinds == Event.Kind.PURCHASE
    viewed = np.isin(arrays.kinds, (Event.Kind.VIEW, Event.Kind.CLICK))
    score = np.bincount(arrays.products[bought], weights[bought], minlength=n).astype(np.float64)
    score += 0.1 * np.bincount(arrays.products[viewed], weights[viewed], minlength=n)
    window = (
        arrays.times >= now - settings.PRODSIM_BEHAVIOUR_WHY_DAYS * cooccurrence.SECONDS_PER_DAY
    )
    purchases = np.bincount(arrays.products[bought & window], minlength=n)
    views = np.bincount(arrays.products[viewed & window], minlength=n)
    kept = np.flatnonzero(score > 0)
    ProductPopularity.objects.bulk_create(
        ProductPopularity(
            product_id=int(arrays.product_ids[i]),
            score=float(score[i]),
            purchases=int(purchases[i]),
            views=int(views[i]),
        )
        for i in kept
    )
    return len(kept)
