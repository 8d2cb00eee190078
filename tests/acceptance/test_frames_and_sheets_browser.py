"""Fusion frames by sensor, a Graviti sheet's rows, the API docs and the admin in headless Chromium, against
gunicorn over TLS; axe-core checks each page for serious accessibility problems."""

import pytest
from django.conf import LazySettings

from datasets import demo_content, services
from datasets.models import Dataset, User
from tests.acceptance.conftest import HubServer
from tests.catalog.conftest import crops_dataset, stereo_dataset

pytest.importorskip("selenium.webdriver", reason="selenium is not installed: see requirements/test.txt")
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.acceptance.browser import WAIT_SECONDS, axe_serious, log_in, texts, wait_for
from tests.acceptance.test_catalog_browser import PREVIEWS_LOADED, changed_files
from tests.acceptance.test_docs_browser import DIALECTS, shown_operations


@pytest.fixture
def content(transactional_db: None, hub_server: HubServer, settings: LazySettings) -> dict[str, Dataset]:
    """A fusion dataset of two cameras over two commits and a dataset with a sheet of cars, stored where the
    server reads them."""
    settings.MEDIA_ROOT = hub_server.media_root
    alice = User.objects.create_user(username="alice")
    team = services.workspace_get_or_create(name="vision-team", owner=alice)
    return {"stereo": stereo_dataset(team, alice), "crops": crops_dataset(team, alice)}


def previews_load(driver: WebDriver) -> None:
    WebDriverWait(driver, WAIT_SECONDS).until(lambda current: current.execute_script(PREVIEWS_LOADED))


def assert_accessible(driver: WebDriver) -> None:
    assert axe_serious(driver) == []


@pytest.mark.django_db(transaction=True)
def test_a_visitor_sees_a_fusion_datasets_frames_by_sensor_and_one_frame(
    hub_server: HubServer, browser: WebDriver, content: dict[str, Dataset]
) -> None:
    browser.get(f"{hub_server.url}datasets/vision-team/stereo/")
    wait_for(browser, "#frame-list")
    assert texts(browser, "#sensor-list tr.sensor td:first-child") == ["cam-left", "cam-right"]
    assert len(texts(browser, "#frame-list li.frame")) == 4
    assert texts(browser, "#frame-list li.frame:first-child .sensor-name strong") == ["cam-left", "cam-right"]
    previews_load(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#frame-list img.preview-image")) == 8
    assert_accessible(browser)

    frame = demo_content.frame_id(1)
    browser.find_element(By.CSS_SELECTOR, f"li.frame[data-frame='{frame}'] a.frame-link").click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: f"frame={frame}" in driver.current_url)
    wait_for(browser, "#all-frames-link")
    assert texts(browser, "#frames-heading") == [f"Frame {frame}"]
    previews_load(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#frame-list img.preview-image")) == 2
    assert_accessible(browser)


@pytest.mark.django_db(transaction=True)
def test_a_fusion_diff_names_the_changed_frames(
    hub_server: HubServer, browser: WebDriver, content: dict[str, Dataset]
) -> None:
    browser.get(f"{hub_server.url}datasets/vision-team/stereo/")
    wait_for(browser, "#commit-history a.diff-link")
    browser.find_elements(By.CSS_SELECTOR, "#commit-history a.diff-link")[0].click()
    wait_for(browser, "#diff-files")
    assert changed_files(browser) == [
        f"modified frame drive/{demo_content.frame_id(1)}".lower(),
        f"added frame drive/{demo_content.frame_id(3)}".lower(),
    ]
    assert texts(browser, "#diff-files li.part-change strong") == ["cam-right", "cam-left", "cam-right"]
    previews_load(browser)
    assert_accessible(browser)


@pytest.mark.django_db(transaction=True)
def test_a_visitor_reads_a_sheets_rows_with_their_images(
    hub_server: HubServer, browser: WebDriver, content: dict[str, Dataset]
) -> None:
    browser.get(f"{hub_server.url}datasets/vision-team/crops/")
    wait_for(browser, "#sheet-rows")
    assert texts(browser, "#sheet-rows thead th") == ["Record key", "id", "colour", "doors", "tags", "image"]
    assert texts(browser, "#sheet-rows tbody th") == [f"10000000000000000{n}" for n in (1, 2, 3)]
    previews_load(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#sheet-rows img.preview-image")) == 3
    assert_accessible(browser)


@pytest.mark.django_db(transaction=True)
def test_a_curator_browses_frames_and_sheets_in_accessible_admin_pages(
    hub_server: HubServer, browser: WebDriver, curator: User, content: dict[str, Dataset]
) -> None:
    log_in(browser, hub_server.url, "carol")
    assert_accessible(browser)
    browser.find_element(By.LINK_TEXT, "stereo").click()
    wait_for(browser, "#frame-list")
    previews_load(browser)
    assert len(texts(browser, "#frame-list li.frame")) == 4
    assert_accessible(browser)

    browser.get(f"{hub_server.url}admin/datasets/dataset/{content['crops'].pk}/change/")
    wait_for(browser, "#sheet-rows")
    previews_load(browser)
    assert_accessible(browser)


@pytest.mark.django_db(transaction=True)
def test_the_api_docs_of_every_dialect_have_no_serious_accessibility_problem(
    hub_server: HubServer, browser: WebDriver
) -> None:
    browser.get(f"{hub_server.url}docs/")
    wait_for(browser, ".topbar select")
    for dialect in DIALECTS:
        WebDriverWait(browser, WAIT_SECONDS).until(
            lambda driver: driver.execute_script("return document.querySelector('.topbar select').disabled === false")
        )
        Select(browser.find_element(By.CSS_SELECTOR, ".topbar select")).select_by_visible_text(dialect)
        WebDriverWait(browser, WAIT_SECONDS).until(
            lambda driver, shown=f"Dataset Hub — {dialect}": (
                shown in " ".join(texts(driver, ".information-container .title")) and shown_operations(driver)
            )
        )
        assert axe_serious(browser) == [], dialect
