"""Signed click tokens: the link of a logged impression carries that impression's id and the
id of the product it showed.

Only the server can mint a token, so a click can only be counted against an impression that was
really shown, and the redirect target is a product the server put there, never a URL. The
product rides along so that the link still leads to it once the impression is gone (the
shopper's erasure, retention): the shopper is sent on, and nothing is counted.
"""

from dataclasses import dataclass

from django.core import signing

SIGNING_SALT = "prodsim.experiments.click"
# A product page left open in a tab for a week still counts its clicks; older links lead to
# their product and count nothing.
LINK_MAX_AGE_S = 7 * 24 * 3600


class BadClickToken(Exception):
    """Forged, truncated or expired token."""


@dataclass(frozen=True)
class ClickLink:
    """What a valid token names."""

    impression_id: int
    # None in links minted before tokens carried the product: they lead nowhere once their
    # impression is gone (such links expire LINK_MAX_AGE_S after the upgrade).
    product_id: int | None
    expired: bool = False  # older than LINK_MAX_AGE_S: it leads on and counts nothing


def click_token(*, impression_id: int, product_id: int) -> str:
    return signing.dumps([impression_id, product_id], salt=SIGNING_SALT)


def click_token_read(*, token: str) -> ClickLink:
    """The impression and product a token was minted for, and whether it has expired;
    BadClickToken when forged."""
    expired = False
    try:
        payload = signing.loads(token, salt=SIGNING_SALT, max_age=LINK_MAX_AGE_S)
    except signing.SignatureExpired:  # still ours: it names the product it showed
        payload, expired = signing.loads(token, salt=SIGNING_SALT), True
    except signing.BadSignature as error:
        raise BadClickToken(str(error))
    if _is_id(payload):  # minted before the product was carried
        return ClickLink(impression_id=payload, product_id=None, expired=expired)
    if isinstance(payload, list) and len(payload) == 2 and all(map(_is_id, payload)):
        return ClickLink(impression_id=payload[0], product_id=payload[1], expired=expired)
    raise BadClickToken("not an impression and product id")


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
