"""`make run`'s first run queues the shop's first models: images always, sequences once there
are shoppers' events, and nothing again on later runs. It loads the demo shop into an empty shop
(completing it when the first run was stopped half way) and creates the admin account, leaving a
restored one alone."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError

from behaviour.ml.sequence.config import SequenceConfig
from behaviour.models import SequenceModelVersion, SequenceTrainingJob
from behaviour.services.ingest import events_record
from catalog.models import Product
from prodsim_site import runner
from prodsim_site.first_run import DEMO_TRAINING, queue_first_models
from similarity.models import ModelVersion
from tests.behaviour.factories import order
from tests.catalog.factories import add_product

pytestmark = pytest.mark.django_db


def test_the_first_run_queues_an_image_model_and_with_events_a_sequence_model():
    out = io.StringIO()

    # given a shop without events: only the image model is queued
    queue_first_models(out)
    image_version = ModelVersion.objects.get()
    assert image_version.label_source == DEMO_TRAINING["label_source"]
    assert image_version.served_models == 1  # the demo's short wait: one model, not the pair
    assert not SequenceModelVersion.objects.exists()

    # given shoppers' events now: the sequence model is queued, with the default recipe
    add_product("A", "Lantern")
    add_product("B", "Tea lights")
    events_record(items=order(["A", "B"], "v1", "o1"))
    queue_first_models(out)
    version = SequenceModelVersion.objects.get()
    assert version.params == SequenceConfig().to_dict()
    assert version.auto_activate
    assert (
        SequenceTrainingJob.objects.get(version=version).state == SequenceTrainingJob.State.QUEUED
    )
    assert ModelVersion.objects.count() == 1
    assert "first sequence model" in out.getvalue()

    # later runs queue nothing more
    queue_first_models(out)
    assert (ModelVersion.objects.count(), SequenceModelVersion.objects.count()) == (1, 1)


# --- prepare(): the demo shop and the admin account, run after run ------------------------

DEMO_SKUS = [f"DEMO-{n}" for n in range(6)]


class FirstRun:
    """prepare() with services, migrate and collectstatic stubbed and var/ in tmp_path; the demo
    catalogue and history stood in for by what they leave, each stoppable half way once."""

    def __init__(self, monkeypatch, tmp_path):
        self.history_loads = 0
        self.stop_during = None  # "catalogue" or "history"
        monkeypatch.setattr(runner.paths, "var_dir", lambda: tmp_path)
        monkeypatch.setattr(runner.embedded, "ensure_started", lambda: None)
        monkeypatch.setattr(runner, "call_command", self.call_command)
        monkeypatch.setattr(runner, "load_demo_history", self.load_demo_history)
        monkeypatch.setattr(runner, "queue_first_models", lambda stdout: None)

    def call_command(self, name, *args, **options):
        if name != "demo_catalogue":
            return  # migrate, collectstatic
        for index, sku in enumerate(DEMO_SKUS):
            if self.stop_during == "catalogue" and index == 2:
                self.stop_during = None
                raise CommandError("Import #1 was cancelled")  # Ctrl-C: the rows so far stay
            Product.objects.get_or_create(sku=sku, defaults={"title": sku, "price": 1})

    def load_demo_history(self, stdout):
        if self.stop_during == "history":
            self.stop_during = None
            raise KeyboardInterrupt
        self.history_loads += 1


@pytest.mark.parametrize("stopped_during", ["catalogue", "history"])
def test_a_first_run_stopped_half_way_stops_the_embedded_servers(
    monkeypatch, tmp_path, stopped_during
):
    """The servers were stopped only once the processes ran: a Ctrl-C during the demo's import
    or a failed migrate left PostgreSQL and Valkey running after `make run` had exited."""
    first_run = FirstRun(monkeypatch, tmp_path)
    first_run.stop_during = stopped_during
    stops = []  # the suite's own servers must keep running: count the stop, do not make it
    monkeypatch.setattr(runner.embedded, "stop", lambda: stops.append(1) or {"postgres": True})
    monkeypatch.setattr(runner, "run_processes", lambda: pytest.fail("the processes started"))

    with pytest.raises((CommandError, KeyboardInterrupt)):
        runner.run_all(io.StringIO())

    assert stops == [1]


@pytest.mark.parametrize("stopped_during", ["catalogue", "history"])
def test_a_first_run_stopped_half_way_is_completed_by_the_next_run(
    monkeypatch, tmp_path, stopped_during
):
    first_run = FirstRun(monkeypatch, tmp_path)
    first_run.stop_during = stopped_during
    with pytest.raises((CommandError, KeyboardInterrupt)):
        runner.prepare(io.StringIO())

    runner.prepare(io.StringIO())  # `make run` again
    runner.prepare(io.StringIO())  # and once more: nothing left to do

    assert sorted(Product.objects.values_list("sku", flat=True)) == DEMO_SKUS
    assert first_run.history_loads == 1


def test_a_shop_with_its_own_products_gets_no_demo_data(monkeypatch, tmp_path):
    first_run = FirstRun(monkeypatch, tmp_path)
    add_product("SHOP-1", "The operator's own")

    runner.prepare(io.StringIO())

    assert list(Product.objects.values_list("sku", flat=True)) == ["SHOP-1"]
    assert first_run.history_loads == 0


def test_the_first_run_creates_the_admin_and_later_runs_show_its_password(monkeypatch, tmp_path):
    FirstRun(monkeypatch, tmp_path)

    password = runner.prepare(io.StringIO())

    assert get_user_model().objects.get(username="admin").check_password(password)
    assert runner.prepare(io.StringIO()) == password


def test_a_restored_admin_keeps_its_password_and_rights(monkeypatch, tmp_path):
    # var/admin-password.txt is not part of a backup: make run reset the restored admin's
    # password and made it a superuser again.
    FirstRun(monkeypatch, tmp_path)
    admin = get_user_model().objects.create_user("admin", password="the shop's own", is_staff=True)

    password = runner.prepare(io.StringIO())

    admin.refresh_from_db()
    assert password is None
    assert admin.check_password("the shop's own") and not admin.is_superuser
    assert "the password it had" in runner.banner(password)
