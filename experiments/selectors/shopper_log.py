"""What the A/B log holds about one shopper: the impressions of what their strips showed (the
'Recently viewed' ones are their own browsing) and their clicks, for the shopper's data export."""

from django.db.models import Q, QuerySet

from catalog.selectors import product_skus_by_id

from ..models import Click, Impression


def shopper_log_counts(*, shopper_hashes: list[str]) -> dict[str, int]:
    """How many impressions and clicks `shopper_log` would list for these hashes (the shopper's
    data page: counts, not the rows)."""
    hashes = [shopper for shopper in shopper_hashes if shopper]
    if not hashes:
        return {"impressions": 0, "clicks": 0}
    return {
        "impressions": _impressions(hashes).count(),
        "clicks": _clicks(hashes).count(),
    }


def shopper_log(*, shopper_hashes: list[str]) -> dict[str, list[dict]]:
    """The impressions (oldest first) and clicks logged under any of `shopper_hashes` (the
    visitor hash, and a session's pre-upgrade hashes: experiments.sessions), products as SKUs
    (a product deleted since as the SKU it had). "" is never one: clicks of sessions that had
    logged nothing are logged under it, and they are nobody's in particular."""
    hashes = [shopper for shopper in shopper_hashes if shopper]
    if not hashes:
        return {"impressions": [], "clicks": []}
    impressions = list(
        _impressions(hashes)
        .order_by("created_at", "pk")
        .values_list("widget", "source_product_id", "shown_product_id", "position", "created_at")
    )
    clicks = list(
        _clicks(hashes)
        .order_by("created_at", "pk")
        .values_list(
            "impression__widget",
            "impression__source_product_id",
            "impression__shown_product_id",
            "created_at",
        )
    )
    products = {row[1] for row in impressions + clicks} | {row[2] for row in impressions + clicks}
    sku = product_skus_by_id(ids=products - {None}).get
    return {
        "impressions": [
            {"widget": w, "source_sku": sku(s), "shown_sku": sku(p), "position": n, "shown_at": at}
            for w, s, p, n, at in impressions
        ],
        "clicks": [
            {"widget": w, "source_sku": sku(s), "shown_sku": sku(p), "clicked_at": at}
            for w, s, p, at in clicks
        ],
    }


def _impressions(hashes: list[str]) -> QuerySet:
    return Impression.objects.filter(session_hash__in=hashes)


def _clicks(hashes: list[str]) -> QuerySet:
    # Every click the erasure deletes (services.shopper_log_erase): theirs, and those of a
    # session that had logged nothing on what they were shown (their link opened in a browser
    # that had signed out, say). Another shopper's click on it is that shopper's.
    return Click.objects.filter(
        Q(session_hash__in=hashes) | Q(session_hash="", impression__session_hash__in=hashes)
    )
