"""A local run that skips tests ends with one line naming what was missing and the command that brings it."""

from types import SimpleNamespace

import pytest

from tests.conftest import SKIPPED, pytest_terminal_summary, skipped_summary


def test_the_summary_names_each_missing_part_once_with_its_command() -> None:
    reasons = [
        "Skipped: Azurite is not installed at .ci/node_modules/.bin/azurite: run `npm ci --prefix .ci`",
        "Skipped: Azurite is not installed at .ci/node_modules/.bin/azurite: run `npm ci --prefix .ci`",
        "Skipped: axe-core is missing: npm ci --prefix .ci",
        "Skipped: /usr/bin/chromium is missing: apt-get install -y chromium chromium-driver",
    ]
    assert skipped_summary(reasons) == (
        "4 test(s) skipped for want of Azurite, axe-core, Chromium; "
        "bring it with: npm ci --prefix .ci && apt-get install -y chromium chromium-driver"
    )


def test_an_unknown_reason_is_named_as_it_is() -> None:
    assert skipped_summary(["Skipped: the moon is down"]) == "1 test(s) skipped for want of the moon is down"


class Reporter:
    """What ``pytest_terminal_summary`` uses of pytest's terminal reporter."""

    def __init__(self, reasons: list[str]) -> None:
        self.config = SimpleNamespace(stash=pytest.Stash())
        if reasons:
            self.config.stash[SKIPPED] = reasons
        self.lines: list[str] = []

    def write_line(self, line: str, **markup: bool) -> None:
        self.lines.append(line)


def test_a_run_that_skips_ends_with_the_summary_line() -> None:
    reporter = Reporter(["Skipped: axe-core is missing: npm ci --prefix .ci"])
    summary = pytest_terminal_summary(reporter)  # type: ignore[arg-type]
    next(summary)  # pytest's own summary goes here
    assert reporter.lines == []
    with pytest.raises(StopIteration):
        next(summary)
    assert reporter.lines == ["1 test(s) skipped for want of axe-core; bring it with: npm ci --prefix .ci"]


def test_a_run_that_skips_nothing_adds_no_line() -> None:
    reporter = Reporter([])
    summary = pytest_terminal_summary(reporter)  # type: ignore[arg-type]
    next(summary)
    with pytest.raises(StopIteration):
        next(summary)
    assert reporter.lines == []
