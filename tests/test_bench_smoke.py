"""Smoke run of the benchmark harness on tiny inputs (benchmarks themselves are not tests).

`bench/run_all.py --smoke` runs vector_search.py and serving.py (filtered part) on a couple of
thousand vectors, and behaviour_serving.py on 1,000 products and 5,000 events (ingestion through
gunicorn, refresh, freshness under a 1-second beat, list latency), against the embedded servers,
writing into a temporary file instead of docs/BENCHMARKS.md.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from prodsim_site.embedded import paths

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_ENV = ("PRODSIM_BENCH_DOCS", "PRODSIM_BENCH_PROFILE", "PRODSIM_DATABASE_NAME")

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL")),
    reason="the benchmarks run only on the embedded servers (DATABASE_URL/REDIS_URL is set)",
)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    env = {key: value for key, value in os.environ.items() if key not in BENCH_ENV}
    completed = subprocess.run(
        [sys.executable, "bench/run_all.py", "--smoke", "--output", str(output)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return completed, output


def _json_lines(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("BENCH_JSON ")]
    return {
        figures["benchmark"]: figures
        for figures in (json.loads(line.removeprefix("BENCH_JSON ")) for line in lines)
    }


def test_smoke_run_writes_its_sections_to_the_given_file_only(smoke_run):
    completed, output = smoke_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    text = output.read_text()
    for name in ("vector-search-smoke", "filtered-queries-smoke", "behaviour-serving-smoke"):
        assert text.count(f"<!-- bench:{name}:start -->") == 1
        assert text.count(f"<!-- bench:{name}:end -->") == 1
    assert "*Profile:* smoke" in text
    assert (output.parent / "bench_scaling-smoke.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    real_docs = (REPO_ROOT / "docs" / "BENCHMARKS.md").read_text()
    assert "-smoke:start" not in real_docs


def test_vector_search_compares_every_engine_with_repeats(smoke_run):
    completed, output = smoke_run
    figures = _json_lines(completed.stdout)["vector-search"]
    assert [size["size"] for size in figures["sizes"]] == [1000, 2000]
    arms = figures["sizes"][-1]["arms"]
    assert sorted(arms) == ["NumPy exact", "PG exact", "faiss HNSW", "pgvector HNSW"]
    for arm in arms.values():
        assert arm["p50_ms"]["n"] == 3 and len(arm["p99_ms"]["runs"]) == 3
    # The exact arms are exact: the same top 10 as the reference, in every pass.
    assert arms["NumPy exact"]["recall"]["runs"] == [1.0, 1.0, 1.0]
    assert arms["PG exact"]["recall"]["min"] >= 0.99
    # (At 2,000 rows the planner may scan the HNSW arm sequentially too: the plan is reported.)
    assert figures["sizes"][-1]["plans"]["PG exact"].endswith("Seq Scan on bench_vectors_2000")
    assert "bench_vectors_2000" in figures["sizes"][-1]["plans"]["pgvector HNSW"]
    assert len(arms["pgvector HNSW"]["build_s"]["runs"]) == 3
    assert re.search(
        r"\| pgvector HNSW \| [01]\.\d{3} \([01]\.\d{3}–[01]\.\d{3}\) \|", output.read_text()
    )


def test_filtered_queries_return_k_rows_for_every_selectivity(smoke_run):
    completed, output = smoke_run
    rows = _json_lines(completed.stdout)["serving"]["filtered"]["rows"]
    assert [row["share"] for row in rows.values()] == [1.0, 0.5, 0.1, 0.01, 0.001]
    for row in rows.values():
        assert row["k_exact"] == row["queries"] == 10
        assert len(row["p99_ms"]["runs"]) == 3
    assert "| brand = Brand Thousandth | 0.1% |" in output.read_text()


def test_behaviour_serving_ingests_every_batch_once_and_lists_the_new_pair(smoke_run):
    completed, output = smoke_run
    figures = _json_lines(completed.stdout)["behaviour-serving"]
    ingestion = figures["ingestion"]
    counts = [
        (row["clients"], row["batches"], row["accepted"], row["duplicates"], row["rejected"])
        for row in ingestion["rows"]
    ]
    assert counts == [(1, 2, 2000, 0, 0), (2, 2, 2000, 0, 0)]
    resent = ingestion["resent"]
    assert (resent["batches"], resent["accepted"], resent["duplicates"]) == (2, 0, 2000)
    # The refresh at scale counted every event of the history written with COPY.
    history = figures["setup"]["history"]
    assert [run["stats"]["events"] for run in figures["refresh"]["runs"]] == [history["events"]]
    [trial] = figures["freshness"]["trials"]
    assert trial["refresh_s"] is not None and 0 < trial["visible_s"] < 30
    bought = figures["lists"]["bought_together"]
    assert bought["n"] == 40
    assert (bought["counts"]["non-200"], bought["counts"]["cache hits"]) == (0, 0)
    assert bought["counts"]["k < 10"] == 0
    assert "| post → pair listed, measured (worst of 1) |" in output.read_text()


def test_smoke_run_drops_its_databases(smoke_run):
    completed, _ = smoke_run
    settings = paths.postgres_settings()
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname="postgres"
    ) as connection:
        names = [row[0] for row in connection.execute("SELECT datname FROM pg_database")]
    assert not [name for name in names if name.startswith("prodsim_bench_smoke_")], names
