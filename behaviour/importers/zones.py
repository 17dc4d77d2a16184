"""The time zone an import applies to times without a UTC offset, named as in the IANA database."""

import zoneinfo
from functools import cache

ERROR_UNKNOWN_TIME_ZONE = "unknown time zone {name!r}: use an IANA name such as Europe/London"


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone called `name` ("" → None: naive times are rejected); ValueError if unknown.

    Only names the database lists are looked up, so a name is never taken as a file path.
    """
    if not name:
        return None
    if name not in _zone_names():
        raise ValueError(ERROR_UNKNOWN_TIME_ZONE.format(name=name))
    return zoneinfo.ZoneInfo(name)
