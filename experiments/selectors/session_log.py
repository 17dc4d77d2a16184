"""What the A/B log holds about one session: the impressions of what its strips showed (the
'Recently viewed' ones are its own browsing) and its clicks, for the shopper's data export."""

from catalog.selectors import product_skus_by_id

from ..models import Click, Impression


def session_log(*, session_hash: str) -> dict[str, list[dict]]:
    """The session's impressions (oldest first) and clicks, products as SKUs (a product deleted
    since as the SKU it had); empty lists for "" (a session without an experiments id: clicks
    of such sessions are logged under "", and they are nobody's in particular)."""
    if not session_hash:
        return {"impressions": [], "clicks": []}
    impressions = list(
        Impression.objects.filter(session_hash=session_hash)
        .order_by("created_at", "pk")
        .values_list("widget", "source_product_id", "shown_product_id", "position", "created_at")
    )
    clicks = list(
        Click.objects.filter(session_hash=session_hash)
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
