"""The Procfile `make run` starts (honcho, each line through the shell) keeps beat's schedule
where every other piece of embedded state lives: under PRODSIM_VAR_DIR when it is set."""

import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def expanded_beat_line(env: dict[str, str]) -> list[str]:
    line = next(
        line.split(":", 1)[1]
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("beat:")
    )
    echoed = subprocess.run(
        ["sh", "-c", f"echo {line}"], env=env, capture_output=True, text=True, check=True
    )
    return shlex.split(echoed.stdout)


def test_beats_schedule_follows_prodsim_var_dir(tmp_path):
    words = expanded_beat_line({"PRODSIM_VAR_DIR": str(tmp_path)})
    assert words[words.index("--schedule") + 1] == f"{tmp_path}/celerybeat-schedule"


def test_beats_schedule_is_under_var_by_default():
    words = expanded_beat_line({})
    assert words[words.index("--schedule") + 1] == "var/celerybeat-schedule"
