"""The demo catalogue generator: CSV contract, images, determinism and the similarity signal."""

import csv
import itertools
import random
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image, ImageChops, ImageStat

from catalog.demo import (
    CATEGORIES,
    PATTERN_WORDS,
    STYLE_WORDS,
    TITLE_DASH,
    write_demo_catalogue,
)
from catalog.demo.catalogue import _group_sizes

PRODUCTS_PER_CATEGORY = 8  # 80 rows, ~120 images: one generation takes about a second
HEADER = (
    "sku,title,description,brand,category,price,currency,tags,"
    "attr:colour,attr:pattern,attr:material,in_stock,group_id,images\r\n"
)
CATEGORY_PATHS = [
    "Home > Kitchen > Mugs",
    "Home > Decor > Cushions",
    "Fashion > Tops > T-shirts",
    "Fashion > Shoes > Sneakers",
    "Fashion > Accessories > Hats",
    "Home > Decor > Lamps",
    "Home > Kitchen > Plates",
    "Sports > Balls",
    "Stationery > Notebooks",
    "Fashion > Bags > Backpacks",
]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("demo")
    return write_demo_catalogue(out_dir=out_dir, products_per_category=PRODUCTS_PER_CATEGORY)


@pytest.fixture(scope="module")
def rows(catalogue: Path) -> list[dict[str, str]]:
    with catalogue.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _image_bytes(out_dir: Path) -> dict[str, bytes]:
    root = out_dir / "images"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.jpg"))}


def _distance(root: Path, first: str, second: str) -> float:
    """Mean absolute per-channel pixel difference, 0-255."""
    with Image.open(root / first) as a, Image.open(root / second) as b:
        return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_writes_the_csv_under_out_dir_with_the_documented_header(tmp_path: Path) -> None:
    csv_path = write_demo_catalogue(out_dir=tmp_path / "shop", products_per_category=1)

    assert csv_path == tmp_path / "shop" / "demo.csv"
    data = csv_path.read_bytes()
    assert data.startswith(HEADER.encode("ascii"))  # exact columns, no BOM
    assert len(list(csv.reader(data.decode("utf-8").splitlines()))) == 1 + 10


def test_row_count_is_ten_categories_times_products_per_category(rows: list[dict]) -> None:
    assert len(rows) == 10 * PRODUCTS_PER_CATEGORY
    assert Counter(row["category"] for row in rows) == dict.fromkeys(CATEGORY_PATHS, 8)
    assert [category.path for category in CATEGORIES] == CATEGORY_PATHS


def test_skus_are_unique_and_made_of_group_and_colour(rows: list[dict]) -> None:
    skus = [row["sku"] for row in rows]

    assert len(set(skus)) == len(skus)
    for row in rows:
        assert re.fullmatch(r"[A-Z]{3}-\d{3}", row["group_id"])
        colour_code = row["attr:colour"].replace(" ", "-").upper()
        assert row["sku"] == f"{row['group_id']}-{colour_code}"
    assert rows[0]["group_id"] == "MUG-001"


def test_every_image_exists_and_is_a_256px_rgb_jpeg(catalogue: Path, rows: list[dict]) -> None:
    root = catalogue.parent / "images"
    listed = [path for row in rows for path in row["images"].split("|")]

    for row in rows:
        paths = row["images"].split("|")
        assert 1 <= len(paths) <= 2
        folder = next(c.folder for c in CATEGORIES if c.path == row["category"])
        stem = f"{folder}/{row['group_id']}-{row['attr:colour'].replace(' ', '-')}"
        assert paths == [f"{stem}-{view}.jpg" for view in range(1, len(paths) + 1)]
    for path in listed:
        with Image.open(root / path) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (256, 256))
    assert sorted(listed) == sorted(_image_bytes(catalogue.parent))  # no orphan files


def test_same_seed_gives_identical_csv_and_image_bytes(catalogue: Path, tmp_path: Path) -> None:
    again = write_demo_catalogue(out_dir=tmp_path, products_per_category=PRODUCTS_PER_CATEGORY)

    assert again.read_bytes() == catalogue.read_bytes()
    assert _image_bytes(tmp_path) == _image_bytes(catalogue.parent)


def test_different_seeds_give_different_catalogues(tmp_path: Path) -> None:
    first = write_demo_catalogue(out_dir=tmp_path / "a", seed=1, products_per_category=2)
    second = write_demo_catalogue(out_dir=tmp_path / "b", seed=2, products_per_category=2)

    assert first.read_bytes() != second.read_bytes()
    first_images = set(_image_bytes(tmp_path / "a").values())
    assert first_images.isdisjoint(_image_bytes(tmp_path / "b").values())


def test_group_variants_share_everything_but_colour(rows: list[dict]) -> None:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["group_id"]].append(row)

    assert len(groups) == 20  # 8 products per category split 4 + 4
    shared = ("category", "brand", "price", "attr:pattern", "attr:material")
    for variants in groups.values():
        for column in shared:
            assert len({row[column] for row in variants}) == 1, column
        colours = [row["attr:colour"] for row in variants]
        assert len(set(colours)) == len(colours)


@pytest.mark.parametrize("total", [6, 7, 8, 9, 36, 101])
def test_group_sizes_are_three_or_four_and_add_up(total: int) -> None:
    sizes = _group_sizes(total, random.Random(0))

    assert sum(sizes) == total
    assert set(sizes) <= {3, 4}


@pytest.mark.parametrize(("total", "expected"), [(1, [1]), (2, [2]), (4, [4]), (5, [4, 1])])
def test_group_sizes_for_totals_too_small_to_split(total: int, expected: list[int]) -> None:
    assert _group_sizes(total, random.Random(0)) == expected


def test_prices_are_two_decimal_strings_inside_the_category_band(rows: list[dict]) -> None:
    bands = {category.path: category.price_band for category in CATEGORIES}

    for row in rows:
        assert re.fullmatch(r"\d+\.\d{2}", row["price"]), row["price"]
        low, high = bands[row["category"]]
        assert low <= Decimal(row["price"]) < high
        assert row["currency"] == "EUR"


def test_text_columns_follow_the_templates(rows: list[dict]) -> None:
    nouns = {category.path: category.noun for category in CATEGORIES}

    for row in rows:
        colour, pattern, material = row["attr:colour"], row["attr:pattern"], row["attr:material"]
        assert row["title"] == (
            f"{row['brand']} {PATTERN_WORDS[pattern]} {material.title()} "
            f"{nouns[row['category']]} {TITLE_DASH} {colour.title()}"
        )
        tags = row["tags"].split("|")
        assert tags[:3] == [colour, pattern, material]
        assert tags[3] in STYLE_WORDS
        assert colour in row["description"]
        assert row["description"].endswith(".")
        assert row["in_stock"] in {"true", "false"}


def test_same_group_images_are_closer_than_other_categories(catalogue: Path, rows: list[dict]):
    root = catalogue.parent / "images"
    primary = {row["sku"]: row["images"].split("|")[0] for row in rows}
    by_group: dict[str, list[str]] = defaultdict(list)
    by_category: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_group[row["group_id"]].append(primary[row["sku"]])
        by_category[row["category"]].append(primary[row["sku"]])

    same_group = [
        _distance(root, a, b)
        for paths in by_group.values()
        for a, b in itertools.combinations(paths, 2)
    ]
    cross_category = [
        _distance(root, a, b)
        for first, second in itertools.combinations(by_category.values(), 2)
        for a, b in zip(first, second, strict=True)
    ]

    # Colour dominates raw pixel distance, so the gap is moderate: 24.0 vs 31.4 for seed 7.
    assert sum(same_group) / len(same_group) < 0.85 * sum(cross_category) / len(cross_category)


def test_rejects_an_empty_catalogue(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="products_per_category must be at least 1"):
        write_demo_catalogue(out_dir=tmp_path, products_per_category=0)


@pytest.mark.parametrize("count", ["0", "-3"])
def test_the_command_refuses_an_empty_catalogue_with_a_command_error(count: str) -> None:
    with pytest.raises(CommandError, match=f"--per-category must be at least 1, not {count}"):
        call_command("demo_catalogue", "--per-category", count)


@pytest.mark.django_db
def test_the_command_leaves_a_real_shop_alone_unless_told_otherwise(media_root) -> None:
    from catalog.management.commands.demo_catalogue import ERROR_NOT_A_DEMO_SHOP
    from catalog.models import Product
    from tests.catalog.factories import add_product

    add_product("REAL-1", "The shop's own mug")

    with pytest.raises(CommandError) as refused:
        call_command("demo_catalogue", "--per-category", "1", verbosity=0)
    assert str(refused.value) == ERROR_NOT_A_DEMO_SHOP.format(sku="REAL-1")
    assert Product.objects.count() == 1

    call_command("demo_catalogue", "--per-category", "1", "--into-this-shop", verbosity=0)
    assert Product.objects.count() == 11
    Product.objects.filter(sku="REAL-1").delete()
    call_command("demo_catalogue", "--per-category", "2", "--seed", "8", verbosity=0)  # a demo
    assert Product.objects.count() > 10
