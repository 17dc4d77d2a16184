"""Real browser sessions: a product page with its similar strip, then a visual search upload;
orders placed through the basket that make a "Frequently bought together" strip; and the admin
cockpit's walk (upload → train on the real worker → activate → preview).

Headless Debian Chromium driven by Selenium against the live test server (real PostgreSQL,
pgvector and a tiny trained model). Skipped, saying so, where Chromium is not installed.
"""

import os
import shutil

import pytest

from tests.catalog.factories import COLOURS, shape_catalogue, shape_catalogue_files, shape_image

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (shutil.which("chromium") and shutil.which("chromedriver")),
        reason="Debian chromium + chromium-driver are not installed",
    ),
]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download drivers
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1600",
        # A shopper's browser: headless Chrome names itself "HeadlessChrome", which the shop
        # takes for a crawler (core/crawlers.py) and logs nothing for.
        "--user-agent=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(10)  # element look-ups wait for the page that a click opens
    yield driver
    driver.quit()


def test_product_page_strip_and_visual_search_upload(browser, live_server, settings, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from similarity.services import model_version_create
    from similarity.services.pipeline import job_run
    from tests.similarity.factories import TINY

    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    shape_catalogue(groups_per_shape=2, colours=3)
    version = model_version_create(enqueue=False, **TINY)
    job_run(job_id=version.jobs.get().pk, max_attempts=1)

    browser.get(f"{live_server.url}/products/SQUARE-0-0/")
    cards = browser.find_elements(By.CSS_SELECTOR, "#similar-strip li.card")
    assert len(cards) == 8
    images = browser.find_elements(By.CSS_SELECTOR, "#similar-strip img")
    browser.execute_script("arguments[0].scrollIntoView()", images[-1])  # lazy images load now
    WebDriverWait(browser, 20).until(
        lambda driver: all(
            driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0", img
            )
            for img in images
        )
    )

    photo = tmp_path / "query.png"
    photo.write_bytes(shape_image("cross", COLOURS[1]))
    browser.find_element(By.LINK_TEXT, "Search by photo").click()
    browser.find_element(By.NAME, "photo").send_keys(str(photo))
    browser.find_element(By.CSS_SELECTOR, "form.visual-search button").click()
    results = WebDriverWait(browser, 30).until(  # the upload posts and a new page loads
        lambda driver: driver.find_elements(By.CSS_SELECTOR, "#visual-results li.card")
    )
    assert len(results) == 24
    browser.save_screenshot(str(tmp_path / "visual-search.png"))


def order_in_browser(browser, base_url: str, skus: list[str]) -> str:
    """A new shopper adds each product from its page, then checks out; returns the order id."""
    from selenium.webdriver.common.by import By

    browser.get(f"{base_url}/")
    browser.delete_all_cookies()  # a new session: another shopper
    for count, sku in enumerate(skus, start=1):
        browser.get(f"{base_url}/products/{sku}/")
        browser.find_element(By.CSS_SELECTOR, "form.add-to-basket button").click()
        browser.find_element(By.ID, "basket-lines")  # waits for the basket page the form opened
        assert browser.find_element(By.ID, "basket-link").text == f"Basket ({count})"
    rows = browser.find_elements(By.CSS_SELECTOR, "#basket-lines tr.basket-line")
    assert [row.get_attribute("data-sku") for row in rows] == skus
    browser.find_element(By.CSS_SELECTOR, "form.checkout button").click()
    order_id = browser.find_element(By.ID, "order-id").text
    assert "No payment was taken" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_element(By.ID, "basket-link").text == "Basket (0)"
    return order_id


def test_orders_placed_in_the_shop_make_a_bought_together_strip(browser, live_server):
    """Two shoppers buy a mug with a cushion (a third buys a lamp alone); after a refresh the
    mug's page shows the cushion first under "Frequently bought together", saying why, and a
    click on it goes through the logged redirect to the cushion's page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from behaviour.models import Event
    from behaviour.services.refresh import behaviour_refresh
    from experiments.models import Click
    from tests.catalog.factories import add_product

    add_product("MUG-1", "Striped mug", category="Home > Kitchen > Mugs")
    add_product("CSH-1", "Linen cushion", category="Home > Decor > Cushions")
    add_product("LMP-1", "Table lamp", category="Home > Decor > Lamps")

    orders = [
        order_in_browser(browser, live_server.url, ["MUG-1", "CSH-1"]),
        order_in_browser(browser, live_server.url, ["MUG-1", "CSH-1"]),
        order_in_browser(browser, live_server.url, ["LMP-1"]),
    ]
    assert len(set(orders)) == 3
    purchases = Event.objects.filter(kind="purchase").values_list("order_id", "product__sku")
    assert sorted(purchases) == sorted(
        [(orders[0], "MUG-1"), (orders[0], "CSH-1"), (orders[1], "MUG-1"), (orders[1], "CSH-1")]
        + [(orders[2], "LMP-1")]
    )
    behaviour_refresh()

    browser.get(f"{live_server.url}/products/MUG-1/")
    cards = browser.find_elements(By.CSS_SELECTOR, "#bought-together li.card")
    first = cards[0]
    assert first.find_element(By.CSS_SELECTOR, ".card-title").text == "Linen cushion"
    why = first.find_element(By.CSS_SELECTOR, ".why").text
    assert why == "Bought together in the last 90 days"  # two orders: not counted aloud
    first.find_element(By.TAG_NAME, "a").click()
    WebDriverWait(browser, 10).until(  # the mug's page has an h1 too: wait for the cushion's
        lambda driver: driver.find_element(By.TAG_NAME, "h1").text == "Linen cushion"
    )
    assert Click.objects.get().impression.widget == "bought_together"


def wait_until_finished(browser, timeout: float) -> str:
    """The job page's state once its script reports the job finished (no reload in between)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.ID, "live-progress")  # waits for the page that the form opened
    browser.execute_script("window.pageLoadedOnce = true")  # a reload would lose this flag
    WebDriverWait(browser, timeout, poll_frequency=0.5).until(
        lambda driver: driver.find_element(By.ID, "live-progress").get_attribute("data-finished")
        == "true"
    )
    assert browser.execute_script("return window.pageLoadedOnce === true")
    return browser.find_element(
        By.CSS_SELECTOR, '#live-progress [data-progress-field="state"]'
    ).text


def test_cockpit_upload_train_activate_and_preview(
    browser, live_server, settings, tmp_path, celery_worker_process, django_user_model
):
    """The cockpit walk: upload a catalogue, train a tiny model on the real worker while the
    job page updates itself, activate it after confirmation, preview its similar items."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from similarity.models import ModelVersion

    settings.PRODSIM_MODELS_ROOT = tmp_path / "models"
    # The form has no batch-shape fields: the tiny catalogue's 8 groups need small batches.
    settings.PRODSIM_TRAINING_DEFAULTS = {
        "labels_per_batch": 4,
        "images_per_label": 2,
        "min_epoch_images": 0,
    }
    django_user_model.objects.create_superuser("boss", "boss@example.com", "walk-the-cockpit")
    csv_path, zip_path = shape_catalogue_files(tmp_path)
    worker = celery_worker_process("default,ml")

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("boss")
    browser.find_element(By.NAME, "password").send_keys("walk-the-cockpit")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.find_element(By.ID, "user-tools")  # logged in: the admin index has loaded

    # 1. Upload: the import page follows the worker in place.
    browser.get(f"{live_server.url}/admin/catalog/importjob/add/")
    browser.find_element(By.NAME, "csv_upload").send_keys(str(csv_path))
    browser.find_element(By.NAME, "images_upload").send_keys(str(zip_path))
    browser.find_element(By.NAME, "_save").click()
    assert wait_until_finished(browser, timeout=60) == "succeeded"
    rows = browser.find_element(By.CSS_SELECTOR, '[data-progress-field="rows_done"]').text
    assert (rows, worker.poll()) == ("24", None)

    # 2. Train a tiny model from the form; the job page shows epochs as they end.
    browser.get(f"{live_server.url}/admin/similarity/modelversion/add/")
    Select(browser.find_element(By.NAME, "backbone")).select_by_value("small_cnn")
    Select(browser.find_element(By.NAME, "label_source")).select_by_value("group")
    for name, value in {
        "weights": "none",
        "input_size": 32,
        "embedding_dim": 8,
        "epochs": 2,
    }.items():
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(str(value))
    auto_activate = browser.find_element(By.NAME, "auto_activate")
    if auto_activate.is_selected():
        auto_activate.click()  # the admin activates it by hand below
    browser.find_element(By.NAME, "_save").click()
    panel = browser.find_element(By.ID, "live-progress")
    assert panel.get_attribute("data-finished") == "false"  # what follows is the script's doing
    assert wait_until_finished(browser, timeout=120) == "succeeded"
    epoch = browser.find_element(By.CSS_SELECTOR, '[data-progress-field="epoch"]').text
    assert epoch == "2"
    # What a screen reader was last told (visually hidden: .text would be empty).
    summary = browser.find_element(By.ID, "live-progress-summary").get_attribute("textContent")
    assert summary.startswith("Job succeeded")
    version = ModelVersion.objects.get()
    assert version.status == "ready"

    # 3. Activate after the confirmation page.
    browser.get(f"{live_server.url}/admin/similarity/modelversion/{version.pk}/change/")
    browser.find_element(By.LINK_TEXT, f"Activate v{version.pk}…").click()
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist li").text
    assert message == f"V{version.pk} is now active."  # the admin capitalises messages
    version.refresh_from_db()
    assert version.status == "active"

    # 4. Preview a product's similar items: the active version beside the candidate (here: itself).
    browser.find_element(By.LINK_TEXT, f"Preview v{version.pk} against the active version").click()
    browser.find_element(By.NAME, "q").send_keys("SQUARE-0-0")
    browser.find_element(By.CSS_SELECTOR, "#content-main input[type=submit]").click()
    browser.find_element(By.PARTIAL_LINK_TEXT, "SQUARE-0-0").click()
    for column in ("active", "candidate"):
        heading = browser.find_element(By.CSS_SELECTOR, f"#preview-{column} h3").text
        items = browser.find_elements(By.CSS_SELECTOR, f"#preview-{column} tr.preview-item")
        assert (heading, len(items)) == (f"{column}: {version}", 10)
