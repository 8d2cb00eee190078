"""Rate limits on a live server with several workers: the counters live in Redis, so every worker enforces one
limit per key and per address between them, and a refusal is the dialect's 429 with ``Retry-After``.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from datasets import services
from datasets.models import User
from project.api import limits
from tests.acceptance.conftest import HubServer

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 12
REQUESTS = 60


def hammer(send: Callable[[], requests.Response]) -> list[requests.Response]:
    """Send REQUESTS requests from 8 threads at once, all inside one minute window of the limits."""
    # The limits count per fixed window; a burst that straddles two would get through twice.
    into_window = time.time() % limits.WINDOW_SECONDS
    if into_window > limits.WINDOW_SECONDS - 20:
        time.sleep(limits.WINDOW_SECONDS + 0.5 - into_window)
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: send(), range(REQUESTS)))


def limited_hub(start_hub: Any, private_redis: tuple[str, Any], **limits: str) -> HubServer:
    return start_hub(
        tls=False,
        workers=3,
        threads=2,
        env={"REDIS_URL": private_redis[0], "RATE_LIMIT_PER_KEY": "0", "RATE_LIMIT_PER_ADDRESS": "0", **limits},
    )


def test_workers_share_one_limit_per_key(start_hub: Any, private_redis: tuple[str, Any]) -> None:
    user = User.objects.create(username="busy")
    key = services.access_key_create(user=user, workspace=services.personal_workspace(user=user))[1]
    other = User.objects.create(username="calm")
    other_key = services.access_key_create(user=other, workspace=services.personal_workspace(user=other))[1]
    hub = limited_hub(start_hub, private_redis, RATE_LIMIT_PER_KEY=str(LIMIT))

    answers = hammer(lambda: requests.get(f"{hub.url}v2/datasets", headers={"X-Token": key}, timeout=60))

    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == LIMIT
    assert set(statuses) == {200, 429}
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json() == {"code": "TooManyRequests", "message": "too many requests"}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other_answer = requests.get(f"{hub.url}v2/datasets", headers={"X-Token": other_key}, timeout=60)
    assert other_answer.status_code == 200


def test_workers_share_one_limit_per_address(start_hub: Any, private_redis: tuple[str, Any]) -> None:
    hub = limited_hub(start_hub, private_redis, RATE_LIMIT_PER_ADDRESS=str(LIMIT))

    answers = hammer(lambda: requests.get(f"{hub.url}aids/aidmp/data/v1/datasets", timeout=60))

    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == LIMIT
    assert set(statuses) == {200, 429}
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json() == {"code": 8, "message": "too many requests", "details": []}
    assert "Retry-After" in refused.headers
