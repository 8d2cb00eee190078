"""``/docs/`` in headless Chromium: Swagger UI's top-bar selector shows every dialect's operations."""

import pytest
import requests

from tests.acceptance.conftest import HubServer

pytest.importorskip("selenium.webdriver", reason="selenium is not installed: see requirements/test.txt")
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.acceptance.browser import WAIT_SECONDS, texts, wait_for

DIALECTS = ["tensorbay", "graviti", "whalerun", "aidmp", "institution"]
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def operations(hub_server: HubServer, dialect: str) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation the dialect's schema documents."""
    schema = requests.get(f"{hub_server.url}openapi/{dialect}.json", timeout=30).json()
    return {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item if method in HTTP_METHODS
    }


def shown_operations(driver: WebDriver) -> set[tuple[str, str]]:
    """(METHOD, path) of the operations Swagger UI shows."""
    methods = texts(driver, ".opblock .opblock-summary-method")
    paths = [path.replace("\u200b", "") for path in texts(driver, ".opblock .opblock-summary-path")]
    return set(zip(methods, paths, strict=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_docs_show_every_operation_of_the_dialect_picked_in_the_top_bar(
    hub_server: HubServer, browser: WebDriver, dialect: str
) -> None:
    expected = operations(hub_server, dialect)
    assert expected
    browser.get(f"{hub_server.url}docs/")
    wait_for(browser, ".topbar select")
    # The selector is disabled while the first schema loads.
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda driver: (
            driver.execute_script("return document.querySelector('.topbar select').disabled === false")
            and shown_operations(driver)
        )
    )
    Select(browser.find_element(By.CSS_SELECTOR, ".topbar select")).select_by_visible_text(dialect)

    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: shown_operations(driver) == expected)
    assert f"Dataset Hub — {dialect}" in " ".join(texts(browser, ".information-container .title"))
