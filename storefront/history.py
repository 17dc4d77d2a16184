"""The shopper's recently viewed products, kept server-side in the session (no account needed)."""

SESSION_KEY = "recently_viewed"
MAX_REMEMBERED = 20  # enough history for recommendations; small enough for a cookie session


def record_view(session, product_id: int) -> None:
    viewed = [pid for pid in session.get(SESSION_KEY, []) if pid != product_id]
    session[SESSION_KEY] = [product_id, *viewed][:MAX_REMEMBERED]


def recently_viewed_ids(session, *, exclude: int | None = None) -> list[int]:
    """Most recent first."""
    return [pid for pid in session.get(SESSION_KEY, []) if pid != exclude]


def history_clear(session) -> None:
    session.pop(SESSION_KEY, None)
