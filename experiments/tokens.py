"""Signed click tokens: the link of a logged impression carries that impression's id.

Only the server can mint a token, so a click can only be counted against an impression that was
really shown, and the redirect target comes from that row, never from the URL.
"""

from django.core import signing

SIGNING_SALT = "prodsim.experiments.click"
# A product page left open in a tab for a week still counts its clicks; older links do not.
LINK_MAX_AGE_S = 7 * 24 * 3600


class BadClickToken(Exception):
    """Forged, truncated or expired token."""


def click_token(*, impression_id: int) -> str:
    return signing.dumps(impression_id, salt=SIGNING_SALT)


def click_token_read(*, token: str) -> int:
    """The impression id a token was minted for; BadClickToken when forged or expired."""
    try:
        impression_id = signing.loads(token, salt=SIGNING_SALT, max_age=LINK_MAX_AGE_S)
    except signing.BadSignature as error:  # SignatureExpired is a BadSignature
        raise BadClickToken(str(error))
    if not isinstance(impression_id, int) or isinstance(impression_id, bool):
        raise BadClickToken("not an impression id")
    return impression_id
