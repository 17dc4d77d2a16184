"""Which manage.py command lines start the embedded services first."""

import pytest

from prodsim_site.embedded import bootstrap


@pytest.fixture
def starts(monkeypatch) -> list[int]:
    started = []
    monkeypatch.setattr(bootstrap, "start_embedded_services", lambda: started.append(1))
    return started


@pytest.mark.parametrize(
    "argv",
    [
        ["manage.py"],
        ["manage.py", "help", "restore"],
        ["manage.py", "services", "status"],
        ["manage.py", "restore", "--help"],
        ["manage.py", "backup", "-h"],
        ["manage.py", "reembed", "--version"],
    ],
)
def test_help_and_version_start_nothing(starts, argv):
    bootstrap.start_embedded_services_for(argv)

    assert starts == []


@pytest.mark.parametrize(
    "argv", [["manage.py", "migrate"], ["manage.py", "backup", "/backups/today"]]
)
def test_commands_that_work_start_the_services(starts, argv):
    bootstrap.start_embedded_services_for(argv)

    assert starts == [1]
