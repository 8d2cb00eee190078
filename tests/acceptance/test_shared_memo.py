"""Answers remembered per caller on a live server with several workers sharing Redis: a change made by another
process (here the test's own, as the admin or a management command would be) reaches every worker at once.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import override_settings

from datasets import services
from datasets.models import Dataset, User
from tests.acceptance.conftest import HubServer
from versioning import services as versioning
from versioning.trees import Entry

pytestmark = pytest.mark.django_db(transaction=True)

# Enough requests that each of the three workers answers some of them.
REQUESTS = 24


def entries(count: int) -> list[Entry]:
    return [
        Entry.create(segment="s", remote_path=f"{n}.jpg", object_key=f"objects/{n}", sha1=f"{n:040x}", size=1)
        for n in range(count)
    ]


@pytest.fixture
def shared_cache(private_redis: tuple[str, Any]) -> Iterator[str]:
    """The test process writes through the same Redis as the server's workers."""
    url = private_redis[0]
    redis = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url, "KEY_PREFIX": "memo-test"}
    with override_settings(CACHES={"default": redis}):
        yield url


def details(hub: HubServer, dataset: Dataset, key: str) -> list[tuple[int, int | None]]:
    """Ask for the page REQUESTS times; the status and total count of each answer."""
    answers = []
    with requests.Session() as session:
        for _ in range(REQUESTS):
            answer = session.get(
                f"{hub.url}v1/datasets/{dataset.hex_id}/data/details",
                params={"commit": "main", "segmentName": "s"},
                headers={"X-Token": key, "Connection": "close"},
                timeout=60,
            )
            answers.append((answer.status_code, answer.json().get("totalCount")))
    return answers


def test_every_worker_refuses_a_revoked_key_and_shows_a_new_head_at_once(start_hub: Any, shared_cache: str) -> None:
    user = User.objects.create(username="reader")
    workspace = services.personal_workspace(user=user)
    dataset = services.dataset_create(workspace=workspace, creator=user, name="pages")
    versioning.commit_import(dataset=dataset, entries=entries(3), title="first", committer=user)
    key, raw = services.access_key_create(user=user, workspace=workspace)
    hub = start_hub(
        tls=False,
        workers=3,
        threads=2,
        env={"REDIS_URL": shared_cache, "CACHE_KEY_PREFIX": "memo-test", "LIST_CACHE_SECONDS": "60"},
    )

    assert set(details(hub, dataset, raw)) == {(200, 3)}
    versioning.commit_import(dataset=dataset, entries=entries(5), title="second", committer=user)
    assert set(details(hub, dataset, raw)) == {(200, 5)}
    services.access_key_revoke(key=key)
    assert {status for status, _ in details(hub, dataset, raw)} == {401}
    assert "Traceback" not in hub.log()
