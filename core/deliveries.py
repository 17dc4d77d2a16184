"""A bound on how often one task message is delivered, for tasks with no job row to count on.

Tasks are acknowledged late and re-queued when their worker child dies (settings: acks_late,
reject_on_worker_lost). A task that kills its child every time (an image that exhausts memory)
would then loop forever and block its queue. Job tasks count attempts in their rows; the others
use this base class, which counts deliveries in Valkey and drops the message past the bound.
"""

import logging

from celery.contrib.django.task import DjangoTask
from django.core.cache import cache

logger = logging.getLogger(__name__)

MAX_DELIVERIES = 3  # one crash can be bad luck (a neighbour's memory spike); three is the task
COUNTER_SECONDS = 2 * 24 * 3600  # outlives any redelivery, including the visibility timeout


class BoundedDeliveryTask(DjangoTask):
    """Runs the task unless this message (this retry of it) was delivered MAX_DELIVERIES times."""

    def __call__(self, *args, **kwargs):
        request = self.request
        if request.called_directly or request.is_eager:
            return super().__call__(*args, **kwargs)
        # A retry reuses the task id; counting per retry keeps outage retries out of the bound.
        key = f"task-deliveries:{request.id}:{request.retries}"
        cache.add(key, 0, COUNTER_SECONDS)
        deliveries = cache.incr(key)
        if deliveries > MAX_DELIVERIES:
            logger.error(
                "Task %s[%s] dropped after %s deliveries that each ended its worker",
                self.name,
                request.id,
                MAX_DELIVERIES,
            )
            return None
        return super().__call__(*args, **kwargs)
