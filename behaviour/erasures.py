"""What else is kept under a visitor's hash, for the apps above behaviour to erase and export
with it.

A visitor's erasure (behaviour.services.visitors.visitor_erase: the partner API, the storefront's
*Your data*, a deleted account) deletes their events; an app above behaviour that logs under the
same hash (experiments' A/B log) subscribes here in its `AppConfig.ready`, as apps subscribe to
catalog.changes, and its rows go in the same transaction: after the erasure's lock, so a write
of that app that holds the lock shared (erasure_guard) has committed and is deleted too, or
waits and meets the tombstone. What an erasure deletes, the partner API's export of the visitor
holds: the same app subscribes an exporter.
"""

from collections.abc import Callable

_erasers: list[Callable[..., object]] = []
_exporters: list[Callable[..., dict[str, list[dict]]]] = []


def subscribe(eraser: Callable[..., object]) -> None:
    """Register `eraser(visitor=<hash>)` (idempotent: `ready()` may run twice in tests)."""
    if eraser not in _erasers:
        _erasers.append(eraser)


def visitor_erased(*, visitor: str) -> None:
    """The visitor with this hash is being erased: every subscriber deletes what it keeps."""
    for eraser in _erasers:
        eraser(visitor=visitor)


def subscribe_export(exporter: Callable[..., dict[str, list[dict]]]) -> None:
    """Register `exporter(visitor=<hash>)`, returning its parts of the visitor's export by name
    (idempotent, as subscribe)."""
    if exporter not in _exporters:
        _exporters.append(exporter)


def visitor_exported(*, visitor: str) -> dict[str, list[dict]]:
    """Every subscriber's parts of the export of the visitor with this hash, by name."""
    parts: dict[str, list[dict]] = {}
    for exporter in _exporters:
        parts.update(exporter(visitor=visitor))
    return parts
