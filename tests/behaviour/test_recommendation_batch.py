"""manage.py recommend_batch: Recommended for you for a file of visitors, as the API answers."""

import csv
import io
import stat

import pytest
from django.core.management import CommandError, call_command

from behaviour.selectors.recommendations import recommended_for_history
from behaviour.services.ingest import events_record
from behaviour.visitors import ERROR_VISITOR_SLASH

from .factories import event, order, recommendations, shop

pytestmark = pytest.mark.django_db


def run(*args, stdin: str | None = None, monkeypatch=None) -> tuple[list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("recommend_batch", *args, stdout=out, stderr=err)
    return list(csv.DictReader(io.StringIO(out.getvalue()))), err.getvalue()


def write_visitors(tmp_path, text: str):
    path = tmp_path / "visitors.csv"
    path.write_text(text, encoding="utf-8")
    return path


def skus_by_visitor(rows: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["visitor_id"], []).append(row["sku"])
    return found


def test_each_visitor_gets_what_the_api_answers_them(partner_client, tmp_path, monkeypatch):
    shop()
    events_record(items=order(["A"], "anna", "o1", days_ago=0.5))
    events_record(items=[event("C", "carl", days_ago=0.2)])
    visitors = tmp_path / "visitors.csv"
    visitors.write_text("visitor_id\nanna\ncarl,ignored column\n\nnobody\n", encoding="utf-8")

    rows, err = run(str(visitors), "--k", "3")

    for visitor in ("anna", "carl", "nobody"):
        api = [
            item["sku"]
            for item in recommendations(partner_client, visitor, "k=3").json()["results"]
        ]
        assert skus_by_visitor(rows)[visitor] == api
    assert [row["rank"] for row in rows] == ["1", "2", "3"] * 3
    anna = [row for row in rows if row["visitor_id"] == "anna"]
    assert anna[0]["tier"] == "personal" and "bought" in anna[0]["why"].lower()
    assert {row["tier"] for row in rows if row["visitor_id"] == "nobody"} == {"trending_no_history"}
    assert "3 visitors answered (1 without events: trending), 9 recommendations, 0 lines" in err


def test_bad_and_repeated_lines_are_refused_by_number_and_the_rest_answered(monkeypatch):
    shop()

    rows, err = run(
        "-", "--k", "2", stdin="anna\nsecret/id\n anna \nbob\n", monkeypatch=monkeypatch
    )

    assert skus_by_visitor(rows).keys() == {"anna", "bob"}
    assert f"line 2: {ERROR_VISITOR_SLASH}" in err
    assert "line 3: the same visitor as line 1: answered there" in err
    assert "secret/id" not in err  # a refused id is never echoed (it may be personal data)
    assert "2 visitors answered" in err and "2 lines refused" in err


def test_an_output_file_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    shop()
    events_record(items=[event("C", visitor, days_ago=0.2) for visitor in ("anna", "bob")])
    visitors = tmp_path / "visitors.csv"
    visitors.write_text("anna\nbob\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    output = tmp_path / "out" / "recommendations.csv"

    run(str(visitors), "--output", str(output), "--k", "2")
    written = output.read_text(encoding="utf-8")
    assert written.splitlines()[0] == "visitor_id,rank,sku,title,score,tier,why"
    assert len(written.splitlines()) == 1 + 2 * 2

    calls = []

    def fails_on_the_second(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return recommended_for_history(**kwargs)

    monkeypatch.setattr(
        "behaviour.selectors.recommendations.batch.recommended_for_history", fails_on_the_second
    )
    with pytest.raises(RuntimeError):
        run(str(visitors), "--output", str(output), "--k", "2")
    assert output.read_text(encoding="utf-8") == written  # the earlier file, untouched
    assert [p.name for p in output.parent.iterdir()] == ["recommendations.csv"]  # no leftover


def test_wrong_arguments_get_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="--k must lie between 1 and 100; got 0"):
        call_command("recommend_batch", "-", "--k", "0")
    with pytest.raises(CommandError, match=r"cannot read .*missing\.csv: No such file"):
        call_command("recommend_batch", str(tmp_path / "missing.csv"))
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("anna\nzoë\n".encode("latin-1"))
    with pytest.raises(CommandError, match=r"latin1\.csv is not UTF-8 text"):
        call_command("recommend_batch", str(latin1), "--output", str(tmp_path / "out.csv"))
    assert not (tmp_path / "out.csv").exists()
    # A folder as the output was found only at the rename, after every visitor was answered.
    visitors = write_visitors(tmp_path, "anna\n")
    with pytest.raises(CommandError, match=r"--output .* is a folder; name the CSV file"):
        call_command("recommend_batch", str(visitors), "--output", str(tmp_path))


def test_a_spreadsheets_file_is_read_as_written(monkeypatch):
    # Excel's "CSV UTF-8" starts with a byte-order mark, which reaches standard input as text;
    # its header may be named otherwise; a quoted note may span lines.
    shop()
    events_record(items=order(["A"], "anna", "o1", days_ago=0.5))
    stdin = '\ufeffCustomer ID,note\nanna,"two\nlines"\nsecret/id,x\n' + "y" * 200_000 + "\nbob\n"

    rows, err = run("-", "--k", "2", stdin=stdin, monkeypatch=monkeypatch)

    assert skus_by_visitor(rows).keys() == {"anna", "bob"}
    assert next(row for row in rows if row["visitor_id"] == "anna")["tier"] == "personal"
    assert f"line 4: {ERROR_VISITOR_SLASH}" in err  # the file's line, past the two-line note
    assert "line 5: not a CSV record (field larger than field limit" in err
    assert "2 visitors answered" in err and "2 lines refused" in err


def test_header_skips_a_first_line_of_any_name(monkeypatch):
    shop()

    rows, err = run("-", "--header", stdin="email\nanna\n", monkeypatch=monkeypatch)

    assert skus_by_visitor(rows).keys() == {"anna"}


def test_the_output_file_keeps_the_mode_a_plain_write_gives(tmp_path):
    shop()
    visitors = write_visitors(tmp_path, "anna\n")
    output = tmp_path / "out" / "recommendations.csv"
    output.parent.mkdir()
    output.write_text("yesterday's\n")
    output.chmod(0o644)  # read by the user of the system the feed goes to

    run(str(visitors), "--output", str(output))

    assert stat.S_IMODE(output.stat().st_mode) == 0o644
    assert output.read_text().startswith("visitor_id,rank")


def test_visitors_without_events_share_one_ranking_per_run(monkeypatch):
    """A campaign names many subscribers who never browsed: their (identical) trending list is
    ranked once, not once each."""
    from behaviour.selectors.recommendations import batch

    shop()
    events_record(items=order(["A"], "anna", "o1", days_ago=0.5))
    ranked = []

    def counted(**kwargs):
        ranked.append(kwargs["history"].is_empty)
        return recommended_for_history(**kwargs)

    monkeypatch.setattr(batch, "recommended_for_history", counted)

    rows, err = run("-", "--k", "2", stdin="new1\nanna\nnew2\nnew3\n", monkeypatch=monkeypatch)

    assert sorted(ranked) == [False, True]  # anna's, then one for the three without events
    lists = skus_by_visitor(rows)
    assert lists["new1"] == lists["new2"] == lists["new3"] and len(lists["new1"]) == 2
    assert "4 visitors answered (3 without events: trending)" in err
