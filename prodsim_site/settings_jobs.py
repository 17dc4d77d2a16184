"""Settings of the background work: Celery (read by prodsim_site/celery.py with namespace
CELERY), beat's schedule, job heartbeats and the reaper. Star-imported by prodsim_site.settings,
which adds the broker's address (the embedded Valkey's or REDIS_URL)."""

from django.core.exceptions import ImproperlyConfigured

from prodsim_site.env import env_float, env_int

# The longest task's hard time limit; the broker's visibility timeout must exceed it, or Valkey
# redelivers a still-running task to a second worker. Never below the longest hard limit in the
# code, image training's (similarity.tasks.TRAIN_HARD_LIMIT_S; a test keeps them equal).
LONGEST_HARD_LIMIT_IN_CODE_S = 5 * 3600 + 600
LONGEST_TASK_HARD_LIMIT_S = env_int(
    "PRODSIM_LONGEST_TASK_S", 6 * 3600, minimum=LONGEST_HARD_LIMIT_IN_CODE_S
)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": LONGEST_TASK_HARD_LIMIT_S + 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing (a service's delay_on_commit, a task enqueueing follow-up work) waits out a broker
# restart instead of failing: Valkey with AOF is back within seconds; ~30 s of retries here.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 30,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_TASK_IGNORE_RESULT = True  # job state lives in PostgreSQL rows, not in a result backend
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # Lexical text work is NumPy only: keep it off the TensorFlow queue.
    "similarity.tasks.lexical_index_rebuild_task": {"queue": "default"},
    "similarity.tasks.product_texts_refresh_task": {"queue": "default"},
    "similarity.tasks.*": {"queue": "ml"},
    "behaviour.tasks.sequence_training_task": {"queue": "ml"},  # TensorFlow: the ml worker
}
CELERY_TASK_TIME_LIMIT = 3600
CELERY_TASK_SOFT_TIME_LIMIT = 3300
CELERY_TIMEZONE = "UTC"
# Celery beat (the `beat` process): periodic behaviour work. The refresh runs when events arrived
# since the last one, so new events show in lists within about a refresh interval.
PRODSIM_BEHAVIOUR_REFRESH_S = env_float("PRODSIM_BEHAVIOUR_REFRESH_S", 30, above=0)
DAY_S = 24 * 3600.0
CELERY_BEAT_SCHEDULE = {
    "behaviour-refresh": {
        "task": "behaviour.tasks.behaviour_refresh_task",
        "schedule": PRODSIM_BEHAVIOUR_REFRESH_S,
        "options": {"expires": PRODSIM_BEHAVIOUR_REFRESH_S},  # a backlog never piles up
    },
    "events-retention": {"task": "behaviour.tasks.events_retention_task", "schedule": DAY_S},
    "impressions-retention": {
        "task": "experiments.tasks.impressions_retention_task",
        "schedule": DAY_S,
    },
    "sessions-clear": {"task": "prodsim_site.tasks.sessions_clear_task", "schedule": DAY_S},
    # Decides itself whether a retraining is due (behaviour.services.sequence.schedule).
    "sequence-retrain": {"task": "behaviour.tasks.sequence_retrain_task", "schedule": DAY_S / 4},
}
# A sequence training's epochs stop after this long and the best so far is kept (a shop's
# history that outgrows it still gets a model); saving, tuning and storing the vectors then have
# the task's remaining time (behaviour.tasks). At most 4 hours: the task's hard limit stays under
# LONGEST_HARD_LIMIT_IN_CODE_S, which the broker's visibility timeout covers.
SEQUENCE_TRAINING_BUDGET_MAX_S = 4 * 3600
PRODSIM_SEQUENCE_TRAINING_BUDGET_S = env_int(
    "PRODSIM_SEQUENCE_TRAINING_BUDGET_S",
    45 * 60,
    minimum=60,
    maximum=SEQUENCE_TRAINING_BUDGET_MAX_S,
)
# Days between scheduled sequence model trainings once a first was trained (0: never).
PRODSIM_SEQUENCE_RETRAIN_DAYS = env_float("PRODSIM_SEQUENCE_RETRAIN_DAYS", 7, minimum=0)

# Job heartbeats and the reaper (core.jobs.heartbeat, core.jobs.reaper). A running job writes a
# heartbeat at least every PRODSIM_JOB_HEARTBEAT_S (one indexed UPDATE by primary key); the
# reaper, every PRODSIM_JOB_REAPER_S, requeues running jobs silent for PRODSIM_JOB_STALE_S (more
# than the longest outage-retry countdown, 60 s, so a task waiting to retry keeps its job) and
# sends queued jobs that no worker took for PRODSIM_JOB_QUEUED_STALE_S once more (their message
# may have been lost with a broker; a duplicate delivery finds the job taken and leaves it).
PRODSIM_JOB_HEARTBEAT_S = env_float("PRODSIM_JOB_HEARTBEAT_S", 10, above=0)
PRODSIM_JOB_STALE_S = env_float("PRODSIM_JOB_STALE_S", 120, above=0)
if PRODSIM_JOB_STALE_S <= PRODSIM_JOB_HEARTBEAT_S:  # the reaper would requeue every running job
    raise ImproperlyConfigured(
        f"PRODSIM_JOB_STALE_S must be above PRODSIM_JOB_HEARTBEAT_S ({PRODSIM_JOB_HEARTBEAT_S:g}"
        f" s), got {PRODSIM_JOB_STALE_S:g}"
    )
PRODSIM_JOB_QUEUED_STALE_S = env_float("PRODSIM_JOB_QUEUED_STALE_S", 600, above=0)
PRODSIM_JOB_REAPER_S = env_float("PRODSIM_JOB_REAPER_S", 30, above=0)
# Every kind of job the reaper watches: its lifecycle (core.jobs.JobLifecycle) names its task.
PRODSIM_JOB_LIFECYCLES = [
    "catalog.services.imports.IMPORTS",
    "similarity.services.jobs.ML_JOBS",
    "behaviour.services.imports.jobs.IMPORTS",
    "behaviour.services.sequence.training.SEQUENCE_JOBS",
]
CELERY_BEAT_SCHEDULE["jobs-reap"] = {
    "task": "core.jobs.tasks.jobs_reap_task",
    "schedule": PRODSIM_JOB_REAPER_S,
    "options": {"expires": PRODSIM_JOB_REAPER_S},
}
# Cache generations Valkey missed while unreachable, replaced as soon as it answers again.
CELERY_BEAT_SCHEDULE["generations-replay"] = {
    "task": "core.jobs.tasks.generations_replay_task",
    "schedule": PRODSIM_JOB_REAPER_S,
    "options": {"expires": PRODSIM_JOB_REAPER_S},
}
# Beat's tasks have a worker of their own (the `periodic` process, two slots, so the reaper and
# the replay run beside a long full rebuild): on the default worker, two hour-long imports held
# both slots and the refresh, the reaper and the replay expired unread behind them. A refresh a
# service asks for (an erasure, the admin) goes the same way.
PERIODIC_QUEUE = "periodic"
CELERY_TASK_ROUTES |= {
    entry["task"]: {"queue": PERIODIC_QUEUE} for entry in CELERY_BEAT_SCHEDULE.values()
}
# Retries of a task that lost its database (core.outages): 8 cover about five minutes.
PRODSIM_OUTAGE_MAX_RETRIES = env_int("PRODSIM_OUTAGE_MAX_RETRIES", 8, minimum=0)
