"""`manage.py backup`, then `restore` into a fresh embedded instance: identical similar lists."""

import json
import shutil

import pytest
from django.core.management import call_command

from catalog.models import Product
from similarity import vector_store
from similarity.selectors.similar import SimilarQuery, similar_products_for
from similarity.services import model_version_activate
from similarity.services.lexical import lexical_index_rebuild
from similarity.services.reembed import reembed
from tests.catalog.factories import shape_catalogue

from .factories import tiny_version

pytestmark = [pytest.mark.django_db(transaction=True)]

# Runs in the restored installation: every product's similar list, and the artifact state.
LISTS_SCRIPT = """
import json
from pathlib import Path
from catalog.models import Product
from similarity import vector_store
from similarity.selectors import active_version
from similarity.selectors.similar import SimilarQuery, similar_products_for
version = active_version()
print(json.dumps({
    "lists": {
        p.sku: [[i.product.sku, round(i.score, 6)] for i in
                similar_products_for(product=p, query=SimilarQuery(k=5)).items]
        for p in Product.objects.order_by("sku")
    },
    "artifact_dir": version.artifact_dir,
    "tflite": (Path(version.artifact_dir) / "model.tflite").is_file(),
    "index_valid": vector_store.hnsw_index_exists(version=version),
    "images": sorted(
        str(Path(p.images.get().file.path).is_file()) for p in Product.objects.all()
    ),
}))
"""


def similar_lists() -> dict:
    return {
        p.sku: [
            [i.product.sku, round(i.score, 6)]
            for i in similar_products_for(product=p, query=SimilarQuery(k=5)).items
        ]
        for p in Product.objects.order_by("sku")
    }


def test_a_backup_restored_into_a_fresh_instance_serves_identical_similar_lists(
    settings, tmp_path, tiny_artifact, private_services
):
    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    shape_catalogue(groups_per_shape=2, colours=3)  # 24 products with images
    version = tiny_version(tiny_artifact)
    shutil.copytree(tiny_artifact, settings.PRODSIM_MODELS_ROOT / f"v{version.pk}")
    version.artifact_dir = str(settings.PRODSIM_MODELS_ROOT / f"v{version.pk}")
    version.save(update_fields=["artifact_dir"])
    reembed(version=version, only_missing=False)
    vector_store.hnsw_index_build(version=version)
    model_version_activate(version=version)
    lexical_index_rebuild()
    before = similar_lists()
    backup = tmp_path / "backup"

    call_command("backup", str(backup))
    restored_root = tmp_path / "restored"
    env = {
        "PRODSIM_MEDIA_ROOT": str(restored_root / "media"),
        "PRODSIM_MODELS_ROOT": str(restored_root / "models"),
    }
    private_services.manage("restore", str(backup), extra_env=env)
    result = json.loads(
        private_services.manage("shell", "-c", LISTS_SCRIPT, extra_env=env).stdout.splitlines()[-1]
    )

    assert len(before) == 24 and all(len(items) == 5 for items in before.values())
    assert result["lists"] == before
    assert result["artifact_dir"] == str(restored_root / "models" / f"v{version.pk}")
    assert (result["tflite"], result["index_valid"]) == (True, True)
    assert result["images"] == ["True"] * 24
