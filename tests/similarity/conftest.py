import pytest


@pytest.fixture(scope="module")
def module_rows(django_db_setup, django_db_blocker, tmp_path_factory):
    """Rows and files that every test of one module reads, built once: training a tiny model
    is most of such a test's time. A module fixture builds them within it:

        with module_rows():
            ...

    The rows stay until the module's last test and are then rolled back; each test's own
    writes roll back to a savepoint before the next one (as under Django's setUpTestData).
    Photos and models go to one folder for the module (MEDIA_ROOT, PRODSIM_MODELS_ROOT), and
    `media_root` must be overridden in the module to keep it. A module using this must hold only
    non-transactional tests that expect these rows."""
    from django.db import transaction
    from django.test import override_settings

    folder = tmp_path_factory.mktemp("module_rows")
    (folder / "media").mkdir()
    folders = override_settings(MEDIA_ROOT=folder / "media", PRODSIM_MODELS_ROOT=folder / "models")
    outer = transaction.atomic()
    # Module fixtures are set up before any test's own (pytest orders by scope), so these
    # settings lie under every per-test override and come off after the last one.
    folders.enable()
    with django_db_blocker.unblock():
        outer.__enter__()
    try:
        yield django_db_blocker.unblock
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
        folders.disable()
