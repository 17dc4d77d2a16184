import pytest


@pytest.fixture
def models_root(settings, tmp_path):
    """Trained models go under this test's tmp_path. Not autouse: the modules that train tiny
    models apply it with `pytestmark = pytest.mark.usefixtures("models_root")`."""
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    return settings.PRODSIM_MODELS_ROOT
