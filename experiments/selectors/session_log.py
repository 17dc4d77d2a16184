"""What the A/B log holds about one session: the impressions of what its strips showed (the
'Recently viewed' ones are its own browsing) and its clicks, for the shopper's data export."""

from ..models import Click, Impression


def session_log(*, session_hash: str) -> dict[str, list[dict]]:
    """The session's impressions (oldest first) and clicks, products as SKUs; empty lists for
    "" (a session without an experiments id: clicks of such sessions are logged under "", and
    they are nobody's in particular)."""
    if not session_hash:
        return {"impressions": [], "clicks": []}
    impressions = (
        Impression.objects.filter(session_hash=session_hash)
        .order_by("created_at", "pk")
        .values_list(
            "widget", "source_product__sku", "shown_product__sku", "position", "created_at"
        )
    )
    clicks = (
        Click.objects.filter(session_hash=session_hash)
        .order_by("created_at", "pk")
        .values_list(
            "impression__widget",
            "impression__source_product__sku",
            "impression__shown_product__sku",
            "created_at",
        )
    )
    return {
        "impressions": [
            {"widget": w, "source_sku": s, "shown_sku": p, "position": n, "shown_at": at}
            for w, s, p, n, at in impressions
        ],
        "clicks": [
            {"widget": w, "source_sku": s, "shown_sku": p, "clicked_at": at}
            for w, s, p, at in clicks
        ],
    }
