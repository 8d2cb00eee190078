"""The front page, the public catalog and the content browser in headless Chromium, against gunicorn over TLS;
axe-core checks each new page for serious accessibility problems."""

import pytest
from django.conf import LazySettings

from datasets import demo_content, services
from datasets.models import Dataset, User
from datasets.services import FileContent
from tests.acceptance.conftest import HubServer

pytest.importorskip("selenium.webdriver", reason="selenium is not installed: see requirements/test.txt")
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from tests.acceptance.browser import WAIT_SECONDS, axe_serious, log_in, texts, wait_for

# Whether every preview image of the page has loaded (an image that failed has no natural width). Previews
# load lazily, so each is scrolled into view first.
PREVIEWS_LOADED = (
    "const images = Array.from(document.querySelectorAll('img.preview-image'));"
    "images.forEach(image => image.scrollIntoView());"
    "return images.length > 0 && images.every(image => image.complete && image.naturalWidth > 0);"
)


def street_files(seeds: range, segment: str = "day") -> list[FileContent]:
    return [FileContent(segment, f.remote_path, f.content, f.label) for f in demo_content.street_files(seeds)]


@pytest.fixture
def content(transactional_db: None, hub_server: HubServer, settings: LazySettings) -> dict[str, Dataset]:
    """Street scenes over two commits, a private and a hidden dataset, stored where the server reads them."""
    settings.MEDIA_ROOT = hub_server.media_root
    alice = User.objects.create_user(username="alice")
    team = services.workspace_get_or_create(name="vision-team", owner=alice)
    lab = services.workspace_get_or_create(name="audio-lab", owner=alice)

    def dataset(name: str, title: str, workspace: object = team, **options: object) -> Dataset:
        return services.dataset_create(workspace=workspace, creator=alice, name=name, title=title, **options)  # type: ignore[arg-type]

    streets = dataset(
        "street-scenes", "Street scenes", is_public=True, licence="CC BY 4.0", tags={"task": ["detection"]}
    )
    services.dataset_contents_commit(
        dataset=streets, committer=alice, title="First photos", files=street_files(range(3))
    )
    redrawn, label = demo_content.street_scene(99, cars=3)
    services.dataset_contents_commit(
        dataset=streets, committer=alice, title="Redraw street-001",
        files=[FileContent("day", "street-001.png", redrawn, label)],
    )  # fmt: skip
    sounds = dataset("street-sounds", "Street sounds", workspace=lab, is_public=True, licence="CC BY 4.0")
    private = dataset("street-secrets", "Street secrets")
    services.dataset_contents_commit(dataset=private, committer=alice, title="Secret", files=street_files(range(1)))
    hidden = dataset("street-faces", "Street faces", is_public=True, licence="CC BY 4.0")
    services.dataset_contents_commit(dataset=hidden, committer=alice, title="Close-ups", files=street_files(range(2)))
    services.dataset_contents_commit(
        dataset=hidden, committer=alice, title="Blur the first face", files=street_files(range(10, 11))
    )
    services.dataset_moderate(dataset=hidden, actor=None, flag="hidden", value=True, reason="faces")
    return {"streets": streets, "sounds": sounds, "private": private, "hidden": hidden}


def listed(driver: WebDriver) -> set[str]:
    return set(texts(driver, "#catalog-results .dataset-link"))


def changed_files(driver: WebDriver) -> list[str]:
    """The diff page's rows: what happened to which file."""
    return [" ".join(text.lower().split()) for text in texts(driver, "#diff-files tr.change td.path")]


def assert_accessible(driver: WebDriver) -> None:
    assert axe_serious(driver) == []


@pytest.mark.django_db(transaction=True)
def test_a_visitor_finds_a_public_dataset_by_search_and_facet_and_sees_its_previews(
    hub_server: HubServer, browser: WebDriver, content: dict[str, Dataset]
) -> None:
    browser.get(hub_server.url)
    wait_for(browser, "#catalog-results")
    assert listed(browser) == {"Street scenes", "Street sounds"}
    assert browser.find_element(By.ID, "admin-link").get_attribute("href") == f"{hub_server.url}admin/"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#dialects a.docs-link")) == 5
    assert_accessible(browser)

    browser.find_element(By.ID, "catalog-search").send_keys("street", Keys.ENTER)
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: "q=street" in driver.current_url)
    assert listed(browser) == {"Street scenes", "Street sounds"}
    browser.find_element(By.CSS_SELECTOR, "a[data-facet='workspace'][href*='vision-team']").click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: listed(driver) == {"Street scenes"})
    assert "q=street" in browser.current_url
    assert not {"Street secrets", "Street faces"} & set(texts(browser, "body"))

    browser.find_element(By.LINK_TEXT, "Street scenes").click()
    wait_for(browser, "#content-browser")
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: driver.execute_script(PREVIEWS_LOADED))
    assert texts(browser, "#commit-history .commit-title") == ["Redraw street-001", "First photos"]
    assert "CC BY 4.0" in browser.find_element(By.ID, "dataset-licence").text
    assert_accessible(browser)

    browser.find_elements(By.CSS_SELECTOR, "#commit-history a.diff-link")[0].click()
    wait_for(browser, "#diff-files")
    assert changed_files(browser) == ["modified day/street-001.png"]
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: driver.execute_script(PREVIEWS_LOADED))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#diff-files img.preview-image")) == 2
    assert_accessible(browser)


@pytest.mark.django_db(transaction=True)
def test_a_visitor_never_reaches_a_private_or_hidden_dataset(
    hub_server: HubServer, browser: WebDriver, content: dict[str, Dataset]
) -> None:
    for name in ("street-secrets", "street-faces"):
        browser.get(f"{hub_server.url}datasets/vision-team/{name}/")
        wait_for(browser, "#error-message")
        assert "does not exist" in browser.find_element(By.ID, "error-message").text
    browser.get(f"{hub_server.url}?q=street")
    wait_for(browser, "#catalog-results")
    assert listed(browser) == {"Street scenes", "Street sounds"}
    assert_accessible(browser)


@pytest.mark.django_db(transaction=True)
def test_a_curator_opens_a_hidden_dataset_in_the_admin_and_reads_a_diff(
    hub_server: HubServer, browser: WebDriver, curator: User, content: dict[str, Dataset]
) -> None:
    log_in(browser, hub_server.url, "carol")
    browser.find_element(By.LINK_TEXT, "street-faces").click()
    wait_for(browser, "#content-browser")
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: driver.execute_script(PREVIEWS_LOADED))
    assert texts(browser, "#commit-history .commit-title") == ["Blur the first face", "Close-ups"]
    diff_links = browser.find_elements(By.CSS_SELECTOR, "#commit-history a.diff-link")
    assert len(diff_links) == 2

    diff_links[0].click()
    wait_for(browser, "#diff-files")
    assert changed_files(browser) == ["added day/street-010.png"]
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: driver.execute_script(PREVIEWS_LOADED))
