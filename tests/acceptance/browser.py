"""Headless Chromium for the page tests: Debian's ``chromium`` and ``chromium-driver``, driven by selenium.

Nothing is downloaded at test time. ``axe_serious`` runs axe-core (``npm ci --prefix .ci``) in the page.
"""

import json
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.acceptance.conftest import CURATOR_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The hub serves a throwaway self-signed certificate.
    "--ignore-certificate-errors",
    "--window-size=1600,1000",
]
AXE_SCRIPT = ROOT / ".ci" / "node_modules" / "axe-core" / "axe.min.js"
# Where a failing browser test leaves a screenshot of the page it was on.
SCREENSHOT_DIR = ROOT / ".ci-cache" / "screenshots"
WAIT_SECONDS = 30


def start_chromium(profile: Path) -> WebDriver:
    """Headless Chromium from the system packages with a fresh profile; skip when it is not installed."""
    for program in (CHROMIUM, CHROMEDRIVER):
        if not program.exists() and shutil.which(program.name) is None:
            pytest.skip(f"{program} is missing: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def save_screenshot(driver: WebDriver, name: str) -> Path:
    """Save what the browser shows now under SCREENSHOT_DIR and return the file."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{''.join(c if c.isalnum() or c in '-_' else '_' for c in name)}.png"
    driver.save_screenshot(str(path))
    return path


def wait_for(driver: WebDriver, css: str) -> None:
    """Wait until an element matching the selector is in the page."""
    WebDriverWait(driver, WAIT_SECONDS).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def texts(driver: WebDriver, css: str) -> list[str]:
    """The texts of the elements matching the selector, read in one script call (never a stale element)."""
    script = "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText.trim());"
    return driver.execute_script(script, css)


def axe_serious(driver: WebDriver) -> list[str]:
    """The serious and critical accessibility violations axe-core finds in the current page."""
    if not AXE_SCRIPT.exists():
        pytest.skip(f"axe-core is missing: npm ci --prefix .ci ({AXE_SCRIPT} not found)")
    driver.execute_script(AXE_SCRIPT.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations)),"
        " e => done(JSON.stringify([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}])));"
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(node["target"][0] if node.get("target") else "?" for node in violation["nodes"][:5])
        for violation in json.loads(result)
        if violation["impact"] in ("serious", "critical")
    ]


def log_in(driver: WebDriver, hub_url: str, username: str, password: str = CURATOR_PASSWORD) -> None:
    """Log in to the admin and wait for its dataset list."""
    driver.get(f"{hub_url}admin/login/?next=/admin/datasets/dataset/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(driver, "#changelist-form")
