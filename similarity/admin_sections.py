"""Sections that apps above similarity add to each model version's admin page.

The experiments app measures versions online (A/B tests), but similarity sits below it and cannot
import it; so experiments registers its renderer here in its `AppConfig.ready`, and the version
page shows whatever is registered.
"""

from collections.abc import Callable

from django.utils.html import format_html_join

from .models import ModelVersion

NOTHING_REGISTERED = "–"

# Each renders safe HTML for one version; called with version= as a keyword.
_online_evidence: list[Callable[..., str]] = []


def online_evidence_register(render: Callable[..., str]) -> None:
    """Add a renderer of online evidence (idempotent: `ready()` may run twice in tests)."""
    if render not in _online_evidence:
        _online_evidence.append(render)


def online_evidence_html(*, version: ModelVersion) -> str:
    if not _online_evidence:
        return NOTHING_REGISTERED
    return format_html_join("", "{}", ((render(version=version),) for render in _online_evidence))
