"""Test-run wiring: real embedded PostgreSQL+pgvector and Valkey (or the env URLs when set)."""

import pytest

from prodsim_site.embedded.bootstrap import start_embedded_services


def pytest_configure(config):
    # Before pytest-django's django_db_setup creates test_prodsim on the server.
    start_embedded_services()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test stores files in its own folder, so tests never see each other's images."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT
