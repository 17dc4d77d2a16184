"""Kept evaluations, for the admin's behaviour page."""

import datetime as dt

from ..models import BehaviourEvaluation


def evaluation_record(*, result: dict) -> BehaviourEvaluation:
    return BehaviourEvaluation.objects.create(
        test_from=dt.datetime.fromisoformat(result["test_from"]), result=result
    )
