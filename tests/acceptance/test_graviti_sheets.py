"""The graviti SDK 0.13.1's DataFrame flows against the live server over TLS (data-plane spec §4).

The "10 minutes to Graviti" tutorial (images and an array of Box2D labels) on the hub's filesystem, on S3
(moto) and on Azure (Azurite); the sheet-management examples (a 300-row sheet of every plain column type,
appending, updating and deleting rows, deleting a sheet, adding a column, each committed, with every earlier
commit still reading as it was); a draft on a branch; files copied between datasets; and what another
workspace and bad input get. The SDK's portex types come from the tests' own repository (``portex_package``).
"""

import hashlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graviti
import graviti.portex as pt
import pytest
import requests
from graviti import DataFrame, openapi
from graviti.exception import ForbiddenError, InvalidParamsError, ResourceNotExistError
from graviti.file import File, Image

from datasets import services
from datasets.models import Dataset as HubDataset
from datasets.models import Workspace
from storage_configs.services import storage_config_create
from tests.acceptance.conftest import HubServer
from tests.factories import UserFactory
from tests.storage_configs.conftest import (  # noqa: F401  (session fixtures of the storage servers)
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    S3_SECRET,
    azurite_endpoint,
    moto_endpoint,
    unique,
)

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 300
SCHEMA = pt.record(
    {
        "id": pt.int64(),
        "score": pt.float32(),
        "name": pt.string(),
        "ok": pt.boolean(),
        "tags": pt.array(pt.string()),
        "color": pt.enum(["red", "green", "blue"]),
        "box": pt.record({"x": pt.int32(), "y": pt.int32()}),
    }
)


@dataclass(frozen=True)
class Caller:
    """A graviti Workspace of one user, its key and the server's base URL."""

    ws: graviti.Workspace
    key: str
    url: str
    workspace: Workspace


def caller(hub_server: HubServer, username: str) -> Caller:
    user = UserFactory(username=username)
    workspace = services.personal_workspace(user=user)
    key = services.access_key_create(user=user, workspace=workspace)[1]
    url = hub_server.url.rstrip("/")
    return Caller(ws=graviti.Workspace(key, url), key=key, url=url, workspace=workspace)


@pytest.fixture
def alice(hub_server: HubServer) -> Caller:
    return caller(hub_server, "gv-alice")


def png(width: int, height: int, shade: int) -> bytes:
    """A grey PNG image of the given size (the SDK reads an image's size from its header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def plain_row(number: int) -> dict[str, Any]:
    return {
        "id": number,
        "score": number / 4,
        "name": f"name {number}",
        "ok": number % 2 == 0,
        "tags": [f"t{i}" for i in range(number % 4)],
        "color": ["red", "green", "blue"][number % 3],
        "box": {"x": number, "y": -number},
    }


def storage_for(kind: str, workspace: Workspace, request: pytest.FixtureRequest) -> str | None:
    """Create a storage config of this kind in the workspace (None: the hub's own storage); return its name."""
    if kind == "hub":
        return None
    if kind == "s3":
        import boto3

        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = unique("gv-s3")
        boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="AKIATEST", aws_secret_access_key=S3_SECRET
        ).create_bucket(Bucket=bucket)
        fields = {"endpoint": endpoint, "bucket": bucket, "access_key_id": "AKIATEST", "secret": S3_SECRET}
    else:
        from azure.storage.blob import BlobServiceClient

        endpoint = request.getfixturevalue("azurite_endpoint")
        container = unique("gv-azure")
        BlobServiceClient(
            endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        ).create_container(container)
        fields = {
            "endpoint": endpoint,
            "bucket": container,
            "account_type": "Global",
            "access_key_id": AZURITE_ACCOUNT,
            "secret": AZURITE_KEY,
        }
    storage_config_create(workspace=workspace, name=f"{kind}-config", kind=kind, file_path="gv", **fields)
    return f"{kind}-config"


@pytest.fixture
def images(tmp_path: Path) -> Iterator[list[Path]]:
    paths = []
    for number in range(3):
        path = tmp_path / f"{number:03}.png"
        path.write_bytes(png(2 + number, 3, 40 * number))
        paths.append(path)
    yield paths


@pytest.mark.parametrize("storage", ["hub", "s3", "azure"])
def test_ten_minutes_to_graviti_with_images_and_box2d_labels(
    alice: Caller,
    storage: str,
    images: list[Path],
    tmp_path: Path,
    portex_standard: Any,
    request: pytest.FixtureRequest,
) -> None:
    config = storage_for(storage, alice.workspace, request)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"plain file bytes")
    box2ds = pt.array(portex_standard.label.Box2D(categories=["boat", "car"]))
    schema = pt.record(
        {
            "filename": pt.string(),
            "image": portex_standard.file.Image(),
            "box2ds": box2ds,
            "raw": portex_standard.file.File(),
        }
    )
    boxes = [[{"xmin": 1.0, "ymin": 2.0, "xmax": 3.5, "ymax": 4.25, "category": "car"}] * number for number in range(3)]
    rows = [
        {"filename": path.name, "image": Image(str(path)), "box2ds": boxes[number], "raw": File(str(notes))}
        for number, path in enumerate(images)
    ]
    dataset = alice.ws.datasets.create("tutorial", storage_config=config)
    dataset["train"] = DataFrame(rows, schema=schema)
    dataset.commit("initial commit")

    read = alice.ws.datasets.get("tutorial")["train"]
    assert len(read) == 3
    assert [(row["filename"], row["box2ds"]) for row in read.to_pylist()] == [
        (path.name, boxes[number]) for number, path in enumerate(images)
    ]
    assert [read["image"][number].open().read() for number in range(3)] == [path.read_bytes() for path in images]
    assert read["raw"][2].open().read() == b"plain file bytes"
    assert (read["image"][1].width, read["image"][1].height) == (3, 3)


def test_sheet_management_keeps_every_commit_as_it_was(alice: Caller) -> None:
    dataset = alice.ws.datasets.create("sheets")
    rows = [plain_row(number) for number in range(ROWS)]
    dataset["train"] = DataFrame(rows, schema=SCHEMA)
    dataset["spare"] = DataFrame([plain_row(0)], schema=SCHEMA)
    dataset.commit("first")
    first = dataset.HEAD.commit_id
    assert alice.ws.datasets.get("sheets")["train"].to_pylist() == rows

    dataset = alice.ws.datasets.get("sheets")
    frame = dataset["train"]
    frame.extend([plain_row(1000)])
    updated = {**plain_row(0), "name": "updated", "box": {"x": 70, "y": 80}, "color": "blue"}
    frame.loc[0] = updated
    del frame.loc[1]
    del dataset["spare"]
    dataset.commit("edit")
    second = dataset.HEAD.commit_id
    edited = [updated, *rows[2:], plain_row(1000)]
    dataset = alice.ws.datasets.get("sheets")
    assert list(dataset.keys()) == ["train"]
    assert dataset["train"].to_pylist() == edited

    frame = dataset["train"]
    frame["extra"] = list(range(len(edited)))
    dataset.commit("add column")
    assert alice.ws.datasets.get("sheets")["train"].to_pylist() == [
        {**row, "extra": number} for number, row in enumerate(edited)
    ]

    for commit_id, expected, sheets in ((first, rows, ["spare", "train"]), (second, edited, ["train"])):
        dataset = alice.ws.datasets.get("sheets")
        dataset.checkout(commit_id)
        assert sorted(dataset.keys()) == sheets
        assert dataset["train"].to_pylist() == expected


def test_a_draft_on_a_branch_is_isolated_from_main(alice: Caller) -> None:
    dataset = alice.ws.datasets.create("branched")
    dataset["train"] = DataFrame([plain_row(0)], schema=SCHEMA)
    dataset.commit("first")
    dataset.branches.create("dev")
    draft = dataset.drafts.create("on dev", branch="dev")
    frame = draft["train"]
    frame.extend([plain_row(1)])
    draft["more"] = DataFrame([plain_row(2)], schema=SCHEMA)
    draft.upload()
    assert [row["id"] for row in alice.ws.datasets.get("branched").drafts.get(draft.number)["train"].to_pylist()] == [
        0,
        1,
    ]
    draft.commit("dev commit")
    main = alice.ws.datasets.get("branched")
    assert (list(main.keys()), [row["id"] for row in main["train"].to_pylist()]) == (["train"], [0])
    main.checkout("dev")
    assert sorted(main.keys()) == ["more", "train"]
    assert [row["id"] for row in main["train"].to_pylist()] == [0, 1]


def test_files_are_copied_between_datasets(alice: Caller, images: list[Path], portex_standard: Any) -> None:
    schema = pt.record({"filename": pt.string(), "image": portex_standard.file.Image()})
    source = alice.ws.datasets.create("source")
    source["files"] = DataFrame([{"filename": p.name, "image": Image(str(p))} for p in images], schema=schema)
    source.commit("files")
    target = alice.ws.datasets.create("target")
    target["copied"] = alice.ws.datasets.get("source")["files"].copy()
    target.commit("copied")
    copied = alice.ws.datasets.get("target")["copied"]
    assert [copied["image"][number].open().read() for number in range(3)] == [p.read_bytes() for p in images]
    prefix = f"{HubDataset.objects.get(name='target').hex_id}/"
    assert all(copied["image"][number].key.startswith(prefix) for number in range(3))


def test_another_workspace_reads_no_private_row_file_or_schema(
    alice: Caller, hub_server: HubServer, images: list[Path], portex_standard: Any
) -> None:
    schema = pt.record({"filename": pt.string(), "image": portex_standard.file.Image()})
    dataset = alice.ws.datasets.create("private")
    dataset["files"] = DataFrame([{"filename": images[0].name, "image": Image(str(images[0]))}], schema=schema)
    dataset.commit("files")
    commit_id = dataset.HEAD.commit_id
    eve = caller(hub_server, "gv-eve")
    ws = alice.workspace.name
    with pytest.raises(ResourceNotExistError):
        eve.ws.datasets.get("private")
    with pytest.raises(ResourceNotExistError):
        openapi.get_commit_sheet(eve.key, eve.url, ws, "private", commit_id=commit_id, sheet="files")
    with pytest.raises(ResourceNotExistError):
        openapi.list_commit_data(eve.key, eve.url, ws, "private", commit_id=commit_id, sheet="files")
    with pytest.raises(ResourceNotExistError):
        openapi.get_object_permission(eve.key, eve.url, ws, "private", actions="GET")
    # Eve's own grant does not reach Alice's objects.
    eve.ws.datasets.create("mine")
    grant = openapi.get_object_permission(eve.key, eve.url, eve.workspace.name, "mine", actions="GET")["permission"]
    key = alice.ws.datasets.get("private")["files"]["image"][0].key
    answer = requests.get(f"{grant['endpoint_prefix']}/{key}?{grant['sas_param']}", timeout=30)
    assert (answer.status_code, "<Code>AuthenticationFailed</Code>" in answer.text) == (403, True)


def test_bad_input_answers_the_dialects_errors(alice: Caller) -> None:
    dataset = alice.ws.datasets.create("strict")
    dataset["train"] = DataFrame([plain_row(0)], schema=SCHEMA)
    dataset.commit("first")
    ws, key, url = alice.workspace.name, alice.key, alice.url
    draft = openapi.create_draft(key, url, ws, "strict", title="bad")["number"]
    with pytest.raises(InvalidParamsError):
        openapi.add_data(key, url, ws, "strict", draft_number=draft, sheet="train", data=[{"id": "not a number"}])
    with pytest.raises(ResourceNotExistError):
        openapi.add_data(key, url, ws, "strict", draft_number=draft, sheet="nope", data=[{"id": 1}])
    openapi.update_draft(key, url, ws, "strict", draft_number=draft, state="CLOSED")
    with pytest.raises(ForbiddenError):
        openapi.add_data(key, url, ws, "strict", draft_number=draft, sheet="train", data=[{"id": 1}])


def test_object_route_refuses_bad_grants_and_bodies_in_xml(alice: Caller) -> None:
    alice.ws.datasets.create("objects")
    ws, key, url = alice.workspace.name, alice.key, alice.url
    put = openapi.get_object_permission(key, url, ws, "objects", actions="PUT")["permission"]
    get = openapi.get_object_permission(key, url, ws, "objects", actions="GET")["permission"]
    body = b"some bytes"
    good_key = put["prefix"] + hashlib.sha1(body).hexdigest()

    def send(method: str, object_key: str, sas: str, data: bytes | None = None) -> requests.Response:
        return requests.request(method, f"{put['endpoint_prefix']}/{object_key}?{sas}", data=data, timeout=30)

    tampered = put["sas_param"][:-2] + ("AA" if not put["sas_param"].endswith("AA") else "BB")
    for answer in (
        send("PUT", good_key, tampered, body),
        send("PUT", good_key, get["sas_param"], body),
        send("PUT", "0" * 32 + "/" + good_key.rsplit("/", 1)[1], put["sas_param"], body),
        send("GET", good_key, put["sas_param"]),
    ):
        assert answer.status_code == 403 and "<Code>AuthenticationFailed</Code>" in answer.text
    mismatch = send("PUT", put["prefix"] + "0" * 40, put["sas_param"], body)
    assert mismatch.status_code == 400 and "<Error><Code>" in mismatch.text
    assert send("GET", put["prefix"] + "0" * 40, get["sas_param"]).status_code == 404
    assert send("PUT", good_key, put["sas_param"], body).status_code == 201
    assert send("GET", good_key, get["sas_param"]).content == body


def test_query_and_apply_run_online_with_search_histories(alice: Caller) -> None:
    dataset = alice.ws.datasets.create("searched")
    dataset["train"] = DataFrame([plain_row(number) for number in range(ROWS)], schema=SCHEMA)
    dataset.commit("first")
    frame = alice.ws.datasets.get("searched")["train"]
    with graviti.engine.online():
        found = frame.query(lambda row: row["id"] > 280)
        narrowed = frame.query(lambda row: (row["id"] > 280) & (row["box"]["x"] < 285) & (row["color"] == "green"))
        applied = frame.apply(lambda row: row["id"] + 1)
    assert found.to_pylist() == [plain_row(number) for number in range(281, ROWS)]
    assert narrowed.to_pylist() == [plain_row(number) for number in range(281, 285) if number % 3 == 1]
    assert applied.to_pylist()[:3] == [[1], [2], [3]] and len(applied) == ROWS
    histories = list(alice.ws.datasets.get("searched").searches.list())
    assert len(histories) == 3 and {history.sheet for history in histories} == {"train"}
    dataset = alice.ws.datasets.get("searched")
    dataset.searches.delete(histories[0].search_id)
    assert len(list(dataset.searches.list())) == 2
