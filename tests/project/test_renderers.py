"""Bodies written through orjson are byte for byte what DRF's JSONRenderer writes."""

import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from project.api.renderers import OrjsonRenderer, json_bytes

MOMENT = datetime.datetime(2026, 12, 1, 16, 30, 5, 123456, tzinfo=datetime.UTC)
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
SAMPLES = [
    {"code": 0, "message": "Success", "data": {"datasets": [], "total": 0}},
    {"text": '数据集 \u2028 line \u2029 paragraph \x00 \x1f \x7f " \\ / \n\t', "emoji": "🐳"},
    {"when": MOMENT, "naive": MOMENT.replace(tzinfo=None), "day": MOMENT.date(), "time": MOMENT.time()},
    {
        "shanghai": MOMENT.astimezone(datetime.timezone(datetime.timedelta(hours=8))),
        "whole": MOMENT.replace(microsecond=0),
    },
    {"id": uuid.UUID(int=7), "price": decimal.Decimal("1.50"), "lazy": gettext_lazy("Not Found")},
    {"numbers": [0, -1, 2**63 - 1, -(2**63), 1.5, 0.1, 1e16, 1634000000.123456], "flags": [True, False, None]},
    {"tuple": (1, "two"), "nested": {"a": {"b": [{"c": []}]}}},
    {"huge": 2**70},
    {1: "integer key", "x": "string key"},
    [],
    "just a string",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_bodies_are_byte_for_byte_drfs(data: object) -> None:
    assert json_bytes(data) == JSONRenderer().render(data)


def test_an_empty_answer_is_an_empty_body() -> None:
    assert OrjsonRenderer().render(None) == b""


def test_an_indent_asked_for_in_accept_is_honoured_as_drf_does() -> None:
    data = {"a": [1, 2]}
    accepted = "application/json; indent=2"

    assert OrjsonRenderer().render(data, accepted, {}) == JSONRenderer().render(data, accepted, {})
