"""Whether a running experiment still splits sessions.

An experiment runs (`active`) from its start until the admin stops it, but its split can end
before that: a candidate version activated, archived or failed meanwhile serves no one, and an
activation of the kind of version an arm is served by changes what it shows; every session is
then served as usual (assignment.running_experiments says when). Such an
experiment is shown as "split ended" so that the admin stops it, not as running.
"""

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from .assignment import running_experiments


def experiments_with_split_state(queryset: QuerySet) -> QuerySet:
    """`queryset` of experiments, each annotated with `split_ended`: running, yet splitting no
    sessions any more. Two queries however many rows (the admin's list shows it per row)."""
    splitting = [experiment.pk for experiment in running_experiments().values()]
    ended = Q(active=True) & ~Q(pk__in=splitting)
    return queryset.annotate(split_ended=ExpressionWrapper(ended, output_field=BooleanField()))
