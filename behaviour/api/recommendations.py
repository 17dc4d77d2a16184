"""Recommended for one visitor: the similar-items parameters and answer, cached per visitor and
per their newest event, so an event sent a moment ago shows in the next answer."""

import datetime as dt
import time

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from partners.api import HasWriteKey
from similarity.api.serializers import ResultListSerializer, SourcelessParamsSerializer
from similarity.api.views.responses import similar_query, timed_response
from similarity.selectors import SimilarQuery

from .. import cache
from ..selectors.recommendations import recommended_for_history, visitor_history
from ..services import erasure_guard
from ..visitors import InvalidVisitorId, visitor_hash
from .lists import result_body, sourceless_params


class VisitorRecommendationsApi(APIView):
    """Products for this visitor, best first: their own events (read now) fused with what goes
    with them; trending fills, and says so, for a visitor without events.

    A write key, as for a shopper's export: the answer, and its explanation the more, shows what
    the visitor bought and viewed, and visitor ids are often guessable (customer numbers), so a
    key that may sit in a page's source must not be able to ask for anyone's."""

    permission_classes = [HasWriteKey]

    @extend_schema(parameters=[SourcelessParamsSerializer], responses=ResultListSerializer)
    def get(self, request, visitor_id: str):
        started = time.perf_counter()
        params = sourceless_params(request.META.get("QUERY_STRING", ""))
        try:
            visitor = visitor_hash(visitor_id)
        except InvalidVisitorId as exc:
            raise ValidationError({"visitor_id": [str(exc)]}) from None
        body, cache_state = visitor_answer(visitor, params)
        return timed_response(body, started, cache_state=cache_state)


def visitor_answer(
    visitor: str, params: dict, query: SimilarQuery | None = None
) -> tuple[dict, str]:
    """The answer for the visitor hash `visitor` and whether it came from the cache ("hit" or
    "miss"). `query`: the parameters' query when the caller built it already (a batch); else it
    is built on a miss only, so a hit stays free of SQL but the history's."""
    # The key carries the marker of the very history the answer is built from, so an event
    # stored a moment later changes the next request's key and never hides under this one.
    read_at = timezone.now()
    history = visitor_history(visitor=visitor)
    key = cache.visitor_entry_key(
        list_name="recommended", visitor=visitor, params={"events": history.marker, **params}
    )
    if (body := cache.get(key)) is not None:
        return body, "hit"
    result = recommended_for_history(history=history, query=query or similar_query(params))
    body = result_body(result, params["explain"], model_version=result.model_version)
    _put_unless_erased(key, body, visitor=visitor, read_at=read_at)
    return body, "miss"


# Leeway for the clocks of the hosts that read and erase (an erasure this close to the read
# costs a cache miss at most).
CLOCK_LEEWAY = dt.timedelta(seconds=5)


def _put_unless_erased(key: str, body: dict, *, visitor: str, read_at: dt.datetime) -> None:
    """Cache the answer, then take it back if the visitor was erased since their history was
    read: the erasure's own delete of their entries may have run before this put. Put first,
    look second: an erasure committing after the look deletes the entry itself (on commit)."""
    cache.put(key, body)
    erased_at = erasure_guard.erased_since([visitor]).get(visitor)
    if erased_at is not None and erased_at >= read_at - CLOCK_LEEWAY:
        cache.delete(key)
