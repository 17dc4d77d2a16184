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


COUNTS_SCRIPT = """
import json
from behaviour.models import Event
from behaviour.partitions import partitions_list
from catalog.models import Product
print(json.dumps({
    "skus": sorted(Product.objects.values_list("sku", flat=True)),
    "events": Event.objects.count(),
    "partitions": len(partitions_list()),
}))
"""
ADD_A_PRODUCT = (
    "from catalog.models import Product; Product.objects.create(sku='LATER', title='x', price=1)"
)


def test_a_backup_restored_over_an_installation_with_events_replaces_it(tmp_path, private_services):
    from behaviour.services.ingest import events_record
    from tests.behaviour.factories import event
    from tests.catalog.factories import product

    product(sku="A")
    events_record(items=[event("A", days_ago=1), event("A", days_ago=40)])  # two partitions
    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    env = {"PRODSIM_MEDIA_ROOT": str(tmp_path / "media"), "PRODSIM_MODELS_ROOT": str(tmp_path)}
    private_services.manage("restore", str(backup), extra_env=env)  # into an empty server
    private_services.manage("shell", "-c", ADD_A_PRODUCT, extra_env=env)

    # Its event partitions exist now: pg_restore --clean failed on them, leaving it unchanged.
    private_services.manage("restore", str(backup), extra_env=env)
    counts = private_services.manage("shell", "-c", COUNTS_SCRIPT, extra_env=env)

    restored = json.loads(counts.stdout.splitlines()[-1])
    assert restored["skus"] == ["A"]
    assert restored["events"] == 2
    assert restored["partitions"] >= 2


DAMAGED_RESTORE_SCRIPT = """
from pathlib import Path
from prodsim_site.backup import BackupError
from prodsim_site.restore import backup_restore
try:
    backup_restore(directory=Path({folder!r}))
except BackupError as exc:
    print("refused:", str(exc)[:60])
"""


def test_a_damaged_dump_leaves_the_installation_as_it_was(tmp_path, private_services):
    from tests.catalog.factories import product

    product(sku="A")
    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    env = {"PRODSIM_MEDIA_ROOT": str(tmp_path / "media"), "PRODSIM_MODELS_ROOT": str(tmp_path)}
    private_services.manage("restore", str(backup), extra_env=env)
    private_services.manage("shell", "-c", ADD_A_PRODUCT, extra_env=env)
    dump = backup / "database.dump"
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size * 2 // 3])  # cut short

    script = DAMAGED_RESTORE_SCRIPT.format(folder=str(backup))
    refused = private_services.manage("shell", "-c", script, extra_env=env).stdout
    counts = private_services.manage("shell", "-c", COUNTS_SCRIPT, extra_env=env)

    assert "refused: pg_restore failed" in refused
    assert json.loads(counts.stdout.splitlines()[-1])["skus"] == ["A", "LATER"]
