"""One real browser session: a product page with its similar strip, then a visual search upload.

Headless Debian Chromium driven by Selenium against the live test server (real PostgreSQL,
pgvector and a tiny trained model). Skipped, saying so, where Chromium is not installed.
"""

import os
import shutil

import pytest

from tests.catalog.factories import COLOURS, shape_catalogue, shape_image

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
    from tests.similarity.test_pipeline import TINY

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
