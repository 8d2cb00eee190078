"""The curator's path through the admin in headless Chromium, against gunicorn over TLS.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium chromium-driver``) and
selenium (requirements/test.txt); nothing is downloaded at test time. Without them the tests skip with the
reason, which CI turns into a failure.
"""

import pytest
import requests

from datasets import services
from datasets.models import Dataset, ModerationEvent, User, Workspace
from tests.acceptance.conftest import HubServer

pytest.importorskip("selenium.webdriver", reason="selenium is not installed: see requirements/test.txt")
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.acceptance.browser import WAIT_SECONDS, log_in, texts, wait_for

AIDMP_LIST = "aids/aidmp/data/v1/datasets"


@pytest.fixture
def catalog(transactional_db: None) -> dict[str, Dataset]:
    """Public datasets in two workspaces, two of them about streets."""
    alice = User.objects.create_user(username="alice")
    bob = User.objects.create_user(username="bob")
    team = services.workspace_get_or_create(name="vision-team", owner=alice)
    lab = services.workspace_get_or_create(name="audio-lab", owner=bob)

    def public(workspace: Workspace, creator: User, name: str, title: str) -> Dataset:
        return services.dataset_create(workspace=workspace, creator=creator, name=name, title=title, is_public=True)

    return {
        "cats": public(team, alice, "street-cats", "Street cats"),
        "dogs": public(team, alice, "street-dogs", "Street dogs"),
        "sounds": public(lab, bob, "street-sounds", "Street sounds"),
    }


def public_names(hub_server: HubServer) -> set[str]:
    """The names of the datasets the public AIDMP list shows."""
    answer = requests.get(f"{hub_server.url}{AIDMP_LIST}", params={"page_size": 100}, timeout=10)
    assert answer.status_code == 200
    return {item["repo"]["name"] for item in answer.json()["datasets"]}


def listed(driver: WebDriver) -> list[str]:
    """The dataset names in the changelist's rows, read at once: a page being replaced never leaves a stale
    element behind."""
    return texts(driver, "#result_list tbody th.field-name a")


@pytest.mark.django_db(transaction=True)
def test_a_curator_hides_a_dataset_with_the_bulk_action(
    hub_server: HubServer, browser: WebDriver, curator: User, catalog: dict[str, Dataset]
) -> None:
    assert public_names(hub_server) == {"street-cats", "street-dogs", "street-sounds"}
    log_in(browser, hub_server.url, "carol")
    assert set(listed(browser)) == {"street-cats", "street-dogs", "street-sounds"}

    browser.find_element(By.ID, "changelist-filter").find_element(By.LINK_TEXT, "vision-team").click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: set(listed(driver)) == {"street-cats", "street-dogs"})
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys("cats", Keys.ENTER)
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: listed(driver) == ["street-cats"])
    assert "workspace__id__exact" in browser.current_url

    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{catalog['cats'].pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("hide")
    browser.find_element(By.CSS_SELECTOR, "#changelist-form button[name=index]").click()
    wait_for(browser, "#confirm-moderation")
    assert "vision-team/street-cats" in browser.find_element(By.ID, "moderated-datasets").text
    assert not Dataset.objects.get(pk=catalog["cats"].pk).hidden
    browser.find_element(By.ID, "id_reason").send_keys("Photos of private gardens")
    browser.find_element(By.ID, "confirm-moderation").click()

    wait_for(browser, ".messagelist")
    assert "1 dataset(s) hidden" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert public_names(hub_server) == {"street-dogs", "street-sounds"}

    browser.find_element(By.LINK_TEXT, "street-cats").click()
    wait_for(browser, "#dataset-moderation")
    assert "Photos of private gardens" in browser.find_element(By.ID, "dataset-moderation").text
    browser.find_element(By.ID, "moderation-log-link").click()
    wait_for(browser, "#result_list")
    row = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr").text
    for text in ("Hide", "street-cats", "vision-team", "carol", "admin", "Photos of private gardens"):
        assert text in row
    event = ModerationEvent.objects.get()
    assert (event.actor, event.action, event.via) == (curator, "hide", "admin")


@pytest.mark.django_db(transaction=True)
def test_a_curator_features_a_dataset_in_one_click(
    hub_server: HubServer, browser: WebDriver, curator: User, catalog: dict[str, Dataset]
) -> None:
    log_in(browser, hub_server.url, "carol")

    browser.find_element(
        By.CSS_SELECTOR, "button.moderate-toggle[data-dataset='street-dogs'][formaction$='/feature/']"
    ).click()

    wait_for(browser, ".messagelist")
    assert Dataset.objects.get(pk=catalog["dogs"].pk).featured
    assert ModerationEvent.objects.get().action == "feature"
    assert browser.find_elements(
        By.CSS_SELECTOR, "button.moderate-toggle[data-dataset='street-dogs'][formaction$='/unfeature/']"
    )
