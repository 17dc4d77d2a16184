"""The storefront for keyboard and screen-reader shoppers: landmarks, headings, titles, names of
controls and images, announced errors, valid nesting; and the stylesheet's contrast and sticky
header (computed from static/css/prodsim.css)."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog.images import InvalidImage
from storefront.forms import PHOTO_TYPES
from tests.catalog.factories import add_product, image_bytes
from tests.html_check import Page, norm

CSS = (Path(__file__).resolve().parents[2] / "static/css/prodsim.css").read_text()
PASSWORD = "a long enough password"
UNAVAILABLE = "Search by photo is not available at the moment."


def page(response) -> Page:
    assert response.status_code == 200
    return Page(response.content.decode())


def photo(data: bytes = b"not an image") -> SimpleUploadedFile:
    return SimpleUploadedFile("x.jpg", data, content_type="image/jpeg")


@pytest.fixture
def shop(db):
    """26 mugs (two pages), the first four with a photo; a customer account."""
    for n in range(26):
        image = image_bytes() if n < 4 else None
        add_product(f"P{n:02}", f"Mug {n:02}", image=image)
    User.objects.create_user(username="ada", password=PASSWORD)


@pytest.fixture
def home(client, shop) -> Page:
    """The product list with its strips: two products viewed first (Recently viewed)."""
    client.get("/products/P02/")
    client.get("/products/P03/")
    return page(client.get("/"))


@pytest.fixture
def bad_upload(client, shop, monkeypatch) -> Page:
    """Search by photo with an active model refusing the upload: a field error on the photo."""

    def refuse(data, version):
        raise InvalidImage("this file is not a photo")

    monkeypatch.setattr("storefront.visual_search.image_query_vector", refuse)
    return page(client.post("/search/photo/", {"photo": photo()}))


@pytest.fixture
def basket(client, shop) -> Page:
    client.post("/basket/add/P00/", {"quantity": "2"})
    client.post("/basket/add/P02/", {"quantity": "1"})
    return page(client.get("/basket/"))


# ---------------------------------------------------------------- every page
def shopper_pages(client) -> dict[str, Page]:
    client.get("/products/P02/")
    pages = {
        "list": page(client.get("/")),
        "search": page(client.get("/", {"q": "mug", "page": 2})),
        "detail": page(client.get("/products/P00/")),
        "photo": page(client.get("/search/photo/")),
        "photo-unavailable": page(client.post("/search/photo/", {"photo": photo(image_bytes())})),
    }
    client.post("/basket/add/P00/", {"quantity": "1"})
    pages["basket"] = page(client.get("/basket/"))
    pages["your-data"] = page(client.get("/your-data/"))
    anonymous = Client()
    pages["sign-in"] = page(anonymous.get("/account/sign-in/"))
    failed = {"username": "ada", "password": "wrong"}
    pages["sign-in-failed"] = page(anonymous.post("/account/sign-in/", failed))
    return pages


def test_no_page_has_duplicate_ids_dangling_references_or_invalid_nesting(client, shop):
    found = {
        name: {
            "dup": p.duplicate_ids(),
            "dangling": p.dangling_references(),
            "nesting": p.problems,
        }
        for name, p in shopper_pages(client).items()
    }
    assert {name: f for name, f in found.items() if any(f.values())} == {}


def test_every_page_starts_with_a_skip_link_to_main(client, shop):
    detail = page(client.get("/products/P00/"))

    first = detail.find("a")[0]
    assert (first.get("href"), norm(first.text)) == ("#main", "Skip to content")
    assert detail.find("main")[0].get("id") == "main"
    assert first.get("class") == "skip-link"
    # Off-screen until focused, not display:none (which would take it out of the tab order).
    assert re.search(r"\.skip-link:focus\s*\{[^}]*top:", CSS)


def test_the_header_links_are_a_navigation_landmark(home):
    (nav,) = home.find("nav", aria_label="Shop")
    for id_ in ("basket-link", "your-data-link", "sign-in-link"):
        assert nav in home.by_id(id_).ancestors
    (photo_link,) = [a for a in home.find("a") if norm(a.text) == "Search by photo"]
    assert nav in photo_link.ancestors


def test_the_messages_are_a_status_region(client, shop):
    response = client.post("/basket/add/P00/", {"quantity": "1"}, follow=True)

    (messages,) = Page(response.content.decode()).find("ul", **{"class": "messages"})
    assert messages.get("role") == "status"


# ---------------------------------------------------------------- product list
def test_the_product_list_h1_is_its_first_heading(client, home):
    search = page(client.get("/", {"q": "mug"}))

    for listing in (home, search):
        assert listing.headings()[0] == (1, "All products")
    assert (2, "Recently viewed") in home.headings()  # the strips' headings come after it


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ({}, "Shop"),
        ({"page": 2}, "Page 2 of 2 – Shop"),
        ({"q": "mug"}, "Results for “mug” – Shop"),
        ({"q": "mug", "page": 2}, "Results for “mug” – Page 2 of 2 – Shop"),
        ({"category": "home-kitchen-mugs"}, "Mugs – Shop"),
        ({"category": "home-kitchen-mugs", "q": "mug"}, "Results for “mug” in Mugs – Shop"),
    ],
)
def test_the_product_list_title_says_what_it_shows(client, shop, settings, query, title):
    settings.PRODSIM_SHOP_NAME = "Shop"

    assert page(client.get("/", query)).title() == title


def test_the_current_category_link_is_marked_current(client, home):
    mugs = page(client.get("/", {"category": "home-kitchen-mugs"}))

    for listing, current in ((home, "All products"), (mugs, "Home > Kitchen > Mugs")):
        marked = [norm(a.text) for a in listing.find("a") if a.get("aria-current") == "page"]
        assert marked == [current]


def test_product_photos_in_links_named_by_the_title_have_an_empty_alt(client, home):
    # "Mug 02 Mug 02": the photo's alt would repeat the link's text (WCAG technique H2).
    cards = [img for img in home.find("img") if img.inside("a")]
    assert cards and {img.get("alt") for img in cards} == {""}
    detail = page(client.get("/products/P00/"))
    assert [img.get("alt") for img in detail.find("img") if not img.inside("a")] == ["Mug 00"]


# ---------------------------------------------------------------- search by photo
def test_the_photo_help_text_is_shown_with_the_id_the_input_refers_to(client, shop):
    form = page(client.get("/search/photo/"))

    described = form.by_id("id_photo").get("aria-describedby").split()
    assert "id_photo_helptext" in described
    assert norm(form.by_id("id_photo_helptext").text) == "JPEG, PNG or WebP"


def test_the_photo_picker_offers_the_accepted_types(client, shop):
    photo_input = page(client.get("/search/photo/")).by_id("id_photo")

    assert photo_input.get("accept") == PHOTO_TYPES == "image/jpeg,image/png,image/webp"


def test_a_refused_photo_is_described_on_the_input_and_not_nested_in_a_p(bad_upload):
    assert "id_photo_error" in bad_upload.by_id("id_photo").get("aria-describedby").split()
    errors = bad_upload.by_id("id_photo_error")
    assert "this file is not a photo" in norm(errors.text)
    assert not errors.inside("p") and bad_upload.problems == []


def test_search_by_photo_unavailable_is_an_alert_in_a_shoppers_words(client, shop):
    result = page(client.post("/search/photo/", {"photo": photo(image_bytes())}))  # no model

    (error,) = result.find("p", **{"class": "error"})
    assert error.get("role") == "alert"
    assert norm(error.text).startswith(UNAVAILABLE)
    assert "train" not in norm(error.text) and "model" not in norm(error.text)


# ---------------------------------------------------------------- basket, sign in
def test_each_remove_button_names_its_product(basket):
    buttons = [b for b in basket.find("button") if norm(b.text) == "Remove"]

    assert [b.get("aria-label") for b in buttons] == ["Remove Mug 00", "Remove Mug 02"]


def test_no_basket_column_header_is_empty(basket):
    assert [th for th in basket.find("th") if not norm(th.text)] == []
    headings = [norm(th.text) for th in basket.find("th") if th.inside("thead")]
    assert headings[-1] == "Remove"  # the buttons' column


def test_a_failed_sign_in_is_an_alert_and_in_the_title(shop):
    failed = page(Client().post("/account/sign-in/", {"username": "ada", "password": "wrong"}))

    (alert,) = failed.find("div", role="alert")
    errors = [e for e in failed.find("ul") if "errorlist" in (e.get("class") or "")]
    assert errors and errors[0].ancestors[-1] is alert
    assert failed.title().startswith("Sign-in failed – Sign in")
    assert failed.problems == []
    assert not page(Client().get("/account/sign-in/")).title().startswith("Sign-in failed")


# ---------------------------------------------------------------- the stylesheet
VARIABLES = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS))
WHITE = "#ffffff"


def colour(value: str) -> str:
    value = value.strip()
    if match := re.fullmatch(r"var\(--([\w-]+)\)", value):
        return VARIABLES[match.group(1)]
    return {"#fff": WHITE}.get(value, value)


def contrast(one: str, other: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    dark, light = sorted([luminance(colour(one)), luminance(colour(other))])
    return (light + 0.05) / (dark + 0.05)


def declarations(selector: str, css: str = CSS) -> dict[str, str]:
    match = re.search(r"(?:^|[}\s])" + re.escape(selector) + r"\s*\{([^}]*)\}", css)
    assert match, selector
    pairs = (d.split(":", 1) for d in match.group(1).split(";") if ":" in d)
    return {name.strip(): value.strip() for name, value in pairs}


def test_accent_text_and_white_on_accent_reach_4_5_to_1():
    # The accent is link text on the page (.nav-link, the current category) and in the white
    # header, and the background of white text (the search button, the skip link).
    assert contrast("var(--accent)", "var(--bg)") >= 4.5
    assert contrast("var(--accent)", WHITE) >= 4.5
    for selector in (".nav-link", ".categories a.active"):
        assert declarations(selector)["color"] == "var(--accent)"
    for selector in (".search button", ".skip-link"):
        rules = declarations(selector)
        assert (rules["background"], rules["color"]) == ("var(--accent)", "#fff")


def test_the_search_field_border_reaches_3_to_1_against_the_white_header():
    border = declarations(".search input")["border"].split()[-1]

    assert contrast(border, WHITE) >= 3
    assert declarations(".site-header")["background"] == "#fff"


def test_the_sticky_header_never_covers_a_focused_element():
    assert "sticky" in declarations(".site-header")["position"]
    wide = declarations("html")["scroll-padding-top"]
    (small_screen,) = re.findall(r"@media \(max-width: 760px\) \{(.*?)\n\}", CSS, re.DOTALL)
    wrapped = declarations("html", small_screen)["scroll-padding-top"]
    assert float(wide.removesuffix("rem")) >= 4  # one header row
    assert float(wrapped.removesuffix("rem")) > float(wide.removesuffix("rem"))
