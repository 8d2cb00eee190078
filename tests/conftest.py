"""Shared fixtures, and the rules CI enforces on the suite as a whole."""

import os
from collections.abc import Iterator

import pytest
from django.conf import LazySettings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from datasets import services
from datasets.models import User, Workspace
from tests.factories import UserFactory

UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# What a skip reason says is missing, and the command that brings it (the reasons name both).
MISSING_PARTS = [
    ("Azurite", "Azurite", "npm ci --prefix .ci"),
    ("axe-core", "axe-core", "npm ci --prefix .ci"),
    ("chromium", "Chromium", "apt-get install -y chromium chromium-driver"),
    ("redis-server", "redis-server", "apt-get install -y redis-server"),
    ("no Redis at", "a Redis server", "apt-get install -y redis-server (or set TEST_REDIS_URL)"),
    ("is not installed", "Python packages", "pip install -r requirements/test.txt"),
]
SKIPPED = pytest.StashKey[list[str]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out ``mysql_only`` tests when the suite runs on another database (they are not skipped)."""
    if connection.vendor == "mysql":
        return
    kept = [item for item in items if item.get_closest_marker("mysql_only") is None]
    deselected = [item for item in items if item.get_closest_marker("mysql_only") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Under CI a skipped test is a failure: a missing service must not pass unnoticed."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        item.config.stash.setdefault(SKIPPED, []).append(reason)
    if UNDER_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must provide every service: {report.longrepr}"


def skipped_summary(reasons: list[str]) -> str:
    """One line: how many tests skipped, what they missed, and the commands that bring it."""
    parts: list[str] = []
    commands: list[str] = []
    for reason in reasons:
        found = next(((part, command) for key, part, command in MISSING_PARTS if key in reason), None)
        part, command = found or (reason.removeprefix("Skipped: "), "")
        if part not in parts:
            parts.append(part)
        if command and command not in commands:
            commands.append(command)
    line = f"{len(reasons)} test(s) skipped for want of {', '.join(parts)}"
    return line + (f"; bring it with: {' && '.join(commands)}" if commands else "")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """End a run that skipped anything with one line naming what was missing and how to bring it (after
    pytest's own summary, just above its closing line of counts)."""
    yield
    reasons = terminalreporter.config.stash.get(SKIPPED, [])
    if reasons:
        terminalreporter.write_line(skipped_summary(reasons), yellow=True, bold=True)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Start every test with an empty cache: the database is rolled back between tests, cached pages are not."""
    cache.clear()
    yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the SQLite test database in a file, so a server process started by a test can open it too."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(autouse=True)
def no_rate_limits(settings: LazySettings) -> None:
    """Every test client comes from 127.0.0.1: the suite runs unthrottled, the rate-limit tests turn it on."""
    settings.RATE_LIMIT_PER_KEY = 0
    settings.RATE_LIMIT_PER_ADDRESS = 0


@pytest.fixture
def user(db: None) -> User:
    """A user with a personal workspace."""
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db: None) -> User:
    """A second user, for checks across workspaces."""
    return UserFactory(username="bob")


@pytest.fixture
def workspace(user: User) -> Workspace:
    """Alice's personal workspace."""
    return services.personal_workspace(user=user)


@pytest.fixture
def access_key(user: User, workspace: Workspace) -> str:
    """A plain access key for alice in her workspace."""
    return services.access_key_create(user=user, workspace=workspace)[1]


@pytest.fixture
def api_client() -> APIClient:
    """An API client that raises nothing, so error responses can be inspected."""
    return APIClient(raise_request_exception=False)
