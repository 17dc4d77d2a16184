"""The admin's behaviour page: events, coverage, last refresh, evaluation; staff only."""

import datetime as dt

import pytest
from django.utils import timezone

from behaviour.selectors.overview import DAYS_SHOWN, behaviour_overview
from behaviour.services.evaluation import bought_together_evaluate
from behaviour.services.evaluation_runs import evaluation_record
from behaviour.services.ingest import events_record
from behaviour.services.refresh import behaviour_refresh
from tests.catalog.factories import product
from tests.staff import login, non_staff_user, staff_user

from .factories import event, order

pytestmark = pytest.mark.django_db


def test_the_page_shows_events_coverage_refresh_and_evaluation(admin_client):
    for sku in "ABCD":
        product(sku=sku)
    for number in range(3):
        events_record(items=order(["A", "B"], f"v{number}", f"old{number}", days_ago=10))
    events_record(items=order(["A", "B"], "v9", "new1", days_ago=1))
    events_record(items=order(["C", "D"], "v8", "new2", days_ago=1))
    events_record(items=[event("C", "v7"), event("D", "v7")])
    behaviour_refresh()
    result = bought_together_evaluate(test_from=timezone.now() - dt.timedelta(days=5))
    evaluation_record(result=result)

    page = admin_client.get("/admin/behaviour/overview/").content.decode()

    assert result["methods"]["co-purchase counts"]["hr"] == 0.5  # A-B found, C-D new
    assert result["cold_share"] == 0.5
    # Events by kind, in the order view, add_to_cart, purchase, click:
    assert "<td>2</td><td>0</td><td>10</td><td>0</td>" in page.replace("\n", "")
    assert "with their own bought_together list</th><td>4</td>" in page
    assert "Learned from 3 orders before" in page
    assert "<td>prodsim (raw)</td><td>0.5000</td>" in page


def test_the_evaluation_counts_only_the_orders_it_scores():
    for sku in "ABC":
        product(sku=sku)
    events_record(items=order(["A", "B"], "v1", "old", days_ago=10))
    events_record(items=order(["A", "B"], "v2", "pair", days_ago=1))
    events_record(items=order(["C"], "v3", "single", days_ago=1))  # no pair to score

    result = bought_together_evaluate(test_from=timezone.now() - dt.timedelta(days=5))

    assert (result["test_orders"], result["pairs"]) == (1, 2)


def test_shoppers_go_to_the_login_and_staff_need_the_permission(client):
    login(client, non_staff_user())
    shopper = client.get("/admin/behaviour/overview/")
    login(client, staff_user())
    staff = client.get("/admin/behaviour/overview/")
    login(client, staff_user("behaviour.view_behaviourrefresh", username="analyst"))
    analyst = client.get("/admin/behaviour/overview/")

    assert shopper.status_code == 302
    assert "/admin/login/" in shopper["Location"]
    assert staff.status_code == 403
    assert analyst.status_code == 200
    assert 'id="refresh-now"' not in analyst.content.decode()


def test_the_days_shown_are_whole_days_of_the_shop():
    product(sku="A")
    oldest = timezone.localdate() - dt.timedelta(days=DAYS_SHOWN - 1)
    day_before = oldest - dt.timedelta(days=1)

    def at(day: dt.date, hour: int, minute: int) -> str:
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute))).isoformat()

    # The last minute of the day before the oldest shown, then the oldest day's first and last.
    times = [at(day_before, 23, 59), at(oldest, 0, 1), at(oldest, 23, 59)]
    events_record(items=[event("A", f"v{n}", occurred_at=t) for n, t in enumerate(times)])

    days = dict(behaviour_overview().events_by_day)

    assert min(days) == oldest and len(days) == 1
    assert days[oldest][0] == 2  # both views of that day, none of the day before
