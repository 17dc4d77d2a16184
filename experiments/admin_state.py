"""Where an experiment stands, as its admin pages say it: running, split ended, the period it
ran, and the window its figures count (up to the stop; from the retention cut)."""

from django.utils import timezone
from django.utils.html import format_html_join

from .selectors import ExperimentResults

COUNTED_UNTIL_STOP = (
    "Impressions and clicks counted up to the stop ({}): a link shown before it and followed "
    "later is not counted, so no later click changes these figures."
)
COUNTED_FROM_RETENTION = (
    "Impressions and clicks from before {} are deleted (daily) with the shoppers' data of that "
    "age (PRODSIM_EVENT_RETENTION_DAYS): these figures count what is left, not the whole test."
)
SPLIT_ENDED = (
    "split ended: its candidate was activated, archived or failed, or another version of its "
    "kind was activated (the control changed), so every shopper sees the usual strip; its "
    "results are those of the period before; stop the experiment"
)


def counting_window_html(results: ExperimentResults) -> str:
    """Where the figures' counting ends (a stopped test) and starts (a retention cut since)."""
    notes = []
    if results.counted_from is not None:
        notes.append(COUNTED_FROM_RETENTION.format(_when(results.counted_from)))
    if results.counted_until is not None:
        notes.append(COUNTED_UNTIL_STOP.format(_when(results.counted_until)))
    return format_html_join("", "<p>{}</p>", ((note,) for note in notes))


def experiment_state(experiment) -> str:
    """Not started, running, split ended (see selectors.state: `experiment` must carry its
    `split_ended` annotation), or the period it ran."""
    if experiment.started_at is None:
        return "not started"
    started = _when(experiment.started_at)
    if not experiment.active and experiment.ended_at is not None:
        return f"ran {started} – {_when(experiment.ended_at)}"
    if experiment.split_ended:
        return f"started {started}, {SPLIT_ENDED}"
    return f"running since {started}"


def _when(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
