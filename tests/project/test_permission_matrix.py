"""Who may read and write what, on every route of the URL configuration (issue #10, permission matrix).

Every route the root URL configuration serves is enumerated and must be classified below, so a new route
cannot be forgotten. Each dialect route and method is then called by four callers against a private and a
public dataset of the workspace ``lab``:

- ``anonymous`` sends no credential;
- ``outsider`` holds a valid key (access key, signing key) of another workspace it owns;
- ``reader`` and ``writer`` hold keys of ``lab``, where they are members with those roles;
- ``stray_key`` is the writer's key of its personal workspace: a key of another workspace held by a member;
- ``former_member`` holds a key of ``lab`` but has left it.

What "allowed" means per dialect:

- TensorBay and Graviti (``X-Token``): members of the dataset's workspace read, members who are not readers
  write, anyone with a key reads a public dataset a curator has not hidden; a private (or hidden) dataset of
  another workspace does not exist for the caller: the refusal is byte-identical to the answer for a dataset
  that does not exist. Routes on the key's own workspace (lists, storage configs, creation) act in the key's
  workspace; the Graviti workspace routes name a workspace, which exists only for keys acting in it. A key
  acts in its workspace only, so the stray key is an outsider's; the key of a former member no longer
  authenticates.
- AIDMP: public list; every caller, anonymous too, sees public datasets and never private ones.
- Institution: a signed request lists the signing key's workspace, private datasets included.
- whale.run: callers are trusted services (``X-Service-Token``, required here); the service sees every
  dataset and names the acting user with ``user_id``; only a dataset's creator (``writer`` here) edits or
  hides it, any service moves counters. whale.run has no private datasets, so its refusals need not hide.
  Its callers name users, not keys: the stray key's caller acts as the writer, the former member as an outsider.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from datasets import services
from datasets.models import Dataset, Membership, User, Workspace
from project.urls import DIALECT_MOUNTS
from storage_configs import services as storage_services
from storage_configs.backends import backend_for
from versioning import jobs, sheets
from versioning import selectors as versioning_selectors
from versioning import services as versioning
from versioning.trees import Entry, Part

SERVICE_TOKEN = "matrix-service-token"
CALLERS = ("anonymous", "outsider", "reader", "writer", "stray_key", "former_member")
# What the last two callers amount to: the key dialects judge the key, whale.run the user it names.
SEEN_AS = {"stray_key": "outsider", "former_member": "revoked"}
WHALERUN_SEEN_AS = {"stray_key": "writer", "former_member": "outsider"}
METHODS = ("get", "post", "put", "patch", "delete")
CONTENT = b"permission matrix"
SHA1 = hashlib.sha1(CONTENT, usedforsecurity=False).hexdigest()
FRAME_ID = "01GZ6T7Y3C0000000000000000"


# Enumerating the URL configuration


def enumerate_routes() -> list[tuple[str, str, Any]]:
    """Every (route, method, view) the root URL configuration serves; routes as written, with their converters."""
    found: list[tuple[str, str, Any]] = []

    def walk(patterns: list, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                view = getattr(entry.callback, "cls", None)
                route = prefix + str(entry.pattern)
                if view is None:
                    found.append((route, "*", entry.callback))
                    continue
                for method in METHODS:
                    if hasattr(view, method):
                        found.append((route, method.upper(), view))

    walk(get_resolver("project.urls").url_patterns, "")
    return found


def dialect_of(route: str) -> tuple[str, str] | None:
    """The dialect a route belongs to and the route relative to its mount, in the root URLs' order."""
    for name, mounts, _ in DIALECT_MOUNTS:
        for mount in mounts:
            if route.startswith(mount):
                return name, route[len(mount) :]
    return None


# Expectations


# What a caller gets: ``ok`` (2xx), ``listed``/``unlisted`` (2xx, the dataset shown in the list or not),
# ``unauthenticated`` (401), ``forbidden`` (403), ``not_found`` (404) or ``hidden`` (404, byte-identical to the
# answer for a dataset or workspace that does not exist).
OK, LISTED, UNLISTED = "ok", "listed", "unlisted"
UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, HIDDEN = "unauthenticated", "forbidden", "not_found", "hidden"
Rule = Callable[[str, str], str]


def dataset_read(caller: str, visibility: str) -> str:
    """Members read; anyone with a key reads a public dataset; a private one is hidden from others."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    if caller == "outsider":
        return OK if visibility == "public" else HIDDEN
    return OK


def dataset_write(caller: str, visibility: str) -> str:
    """Writers write; readers are refused; others are refused a public dataset and never see a private one."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    if caller == "outsider":
        return FORBIDDEN if visibility == "public" else HIDDEN
    return OK if caller == "writer" else FORBIDDEN


def search_result_create(caller: str, visibility: str) -> str:
    """A search becomes a dataset for whoever reads the searched dataset, in a workspace the caller writes; a
    dataset in a storage config (all of the world's) stays in its workspace, so others are refused."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    if caller == "outsider":
        return FORBIDDEN if visibility == "public" else HIDDEN
    return OK if caller == "writer" else FORBIDDEN


def key_workspace_list(caller: str, visibility: str) -> str:
    """A list of the key's workspace: lab's keys see lab's datasets (private ones too), others do not."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    return UNLISTED if caller == "outsider" else LISTED


def key_workspace_read(caller: str, visibility: str) -> str:
    """A read of the key's workspace; the outsider's own workspace has no ``lab-store``."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    return NOT_FOUND if caller == "outsider" else OK


def key_workspace_create(caller: str, visibility: str) -> str:
    """Creation in the key's workspace: writers and owners (the outsider owns its own) create, readers do not."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    return FORBIDDEN if caller == "reader" else OK


def key_workspace_delete(caller: str, visibility: str) -> str:
    """Deletion in the key's workspace: readers are refused; the outsider's workspace has no such config."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    return {"outsider": NOT_FOUND, "reader": FORBIDDEN, "writer": OK}[caller]


def any_key(caller: str, visibility: str) -> str:
    """Anything about the caller itself: any valid key."""
    return UNAUTHENTICATED if caller == "anonymous" else OK


def member_workspace_read(caller: str, visibility: str) -> str:
    """A named workspace exists only for its members: others get what a missing workspace gets."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    return HIDDEN if caller == "outsider" else OK


def member_workspace_write(caller: str, visibility: str) -> str:
    """A named workspace's settings: writers change them, readers are refused, others do not see it."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    return {"outsider": HIDDEN, "reader": FORBIDDEN, "writer": OK}[caller]


def public_list(caller: str, visibility: str) -> str:
    """AIDMP: everyone sees public datasets, nobody sees private ones."""
    return LISTED if visibility == "public" else UNLISTED


def service_read(caller: str, visibility: str) -> str:
    """whale.run: a trusted service sees every dataset."""
    return UNAUTHENTICATED if caller == "anonymous" else LISTED


def service_write(caller: str, visibility: str) -> str:
    """whale.run: any trusted service may."""
    return UNAUTHENTICATED if caller == "anonymous" else OK


def creator_write(caller: str, visibility: str) -> str:
    """whale.run: only the dataset's creator (the writer) edits or hides it."""
    if caller == "anonymous":
        return UNAUTHENTICATED
    return OK if caller == "writer" else FORBIDDEN


# Requests


@dataclass
class World:
    """The objects the matrix calls routes on."""

    lab: Workspace
    outsider_workspace: Workspace
    users: dict[str, User]
    access_keys: dict[str, str]
    signing_keys: dict[str, tuple[str, str]]
    datasets: dict[str, Dataset]
    drafts: dict[str, int]
    heads: dict[str, str]
    searches: dict[str, str]
    # Per dataset: a queued job, an aborted one (to retry) and a finished search.
    jobs: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """How to call one route and method: path parameters, query and body, computed from the world."""

    params: Callable[[World, Dataset], dict[str, Any]] = lambda world, dataset: {}
    query: Callable[[World, Dataset], dict[str, Any]] = lambda world, dataset: {}
    body: Callable[[World, Dataset, str], Any] = lambda world, dataset, caller: None


@dataclass(frozen=True)
class Row:
    """One (route, method) of a dialect: its rule, how to call it, and whether it is about one dataset."""

    rule: Rule
    call: Call = field(default_factory=Call)
    per_dataset: bool = True
    # Called on the fusion datasets of the world (sensors and frames exist only there).
    fusion: bool = False


def body(**fields: Any) -> Callable[[World, Dataset, str], dict[str, Any]]:
    """A fixed body."""
    return lambda world, dataset, caller: fields


def fixed(**values: Any) -> Callable[[World, Dataset], dict[str, Any]]:
    """Fixed path parameters or query."""
    return lambda world, dataset: values


def draft_number(world: World, dataset: Dataset) -> int:
    return world.drafts[dataset.name]


CATALOG = {"CLASSIFICATION": {"categories": [{"name": "cat"}]}}


def with_draft(**fields: Any) -> Callable[[World, Dataset, str], dict[str, Any]]:
    return lambda world, dataset, caller: {"draftNumber": draft_number(world, dataset), **fields}


def status_query(world: World, dataset: Dataset) -> dict[str, Any]:
    return {"commit": world.heads[dataset.name]}


def entry_query(world: World, dataset: Dataset) -> dict[str, Any]:
    return {"commit": world.heads[dataset.name], "segmentName": "seg"}


SHEET_PORTEX = "type: record\nfields:\n- name: id\n  type: int64\n"
SHEET_AVRO = '{"type": "record", "name": "root", "fields": [{"name": "id", "type": ["null", "long"]}]}'
FIRST_RECORD_KEY = "100000000000000001"
TB_DATASET = "datasets/<str:dataset_id>"
MERGE_ARGUMENTS = {"title": "merged", "sourceBranchName": "dev", "targetBranchName": "main", "strategy": "skip"}


def job_param(which: str) -> Callable[[World, Dataset], dict[str, Any]]:
    """The id of the dataset's queued or aborted job."""
    return lambda world, dataset: {"job_id": world.jobs[dataset.name][which]}


GV_DATASET = "datasets/<str:workspace>/<str:dataset>"
STORAGE_CONFIG_BODIES = {
    "oss": {"endpoint": "oss.example.com", "bucketName": "b", "accesskeyId": "id", "accesskeySecret": "s"},
    "s3": {"endpoint": "s3.example.com", "bucketName": "b", "accesskeyId": "id", "accesskeySecret": "s"},
    "azure": {
        "containerName": "c",
        "accountType": "China",
        "accesskeyId": "account",
        "accesskeySecret": "c2VjcmV0",
    },
    "local": {"endpoint": "127.0.0.1:9000"},
}

TENSORBAY: dict[tuple[str, str], Row] = {
    ("users", "GET"): Row(any_key, per_dataset=False),
    ("storage-configs", "GET"): Row(key_workspace_list, per_dataset=False),
    ("auth-storage-configs", "GET"): Row(any_key, per_dataset=False),
    **{
        (f"storage-configs/{kind}", "POST"): Row(
            key_workspace_create,
            Call(body=body(name=f"new-{kind}", filePath="p", **STORAGE_CONFIG_BODIES[kind])),
            per_dataset=False,
        )
        for kind in ("oss", "s3", "azure", "local")
    },
    ("storage-configs/<str:name>", "DELETE"): Row(
        key_workspace_delete, Call(params=fixed(name="spare-store")), per_dataset=False
    ),
    ("cloud/<str:name>/files", "GET"): Row(key_workspace_read, Call(params=fixed(name="lab-store")), per_dataset=False),
    ("cloud/<str:name>/files/urls", "GET"): Row(
        key_workspace_read,
        Call(params=fixed(name="lab-store"), query=fixed(filePath="c.txt")),
        per_dataset=False,
    ),
    ("datasets", "GET"): Row(key_workspace_list),
    ("datasets", "POST"): Row(key_workspace_create, Call(body=body(name="created")), per_dataset=False),
    (TB_DATASET, "GET"): Row(dataset_read),
    (TB_DATASET, "PATCH"): Row(dataset_write, Call(body=body(alias="renamed"))),
    (TB_DATASET, "DELETE"): Row(dataset_write),
    (f"{TB_DATASET}/drafts", "GET"): Row(dataset_read),
    (f"{TB_DATASET}/drafts", "POST"): Row(dataset_write, Call(body=body(title="t"))),
    (f"{TB_DATASET}/drafts/<int:draft_number>", "PATCH"): Row(dataset_write, Call(body=body(title="retitled"))),
    (f"{TB_DATASET}/commits", "GET"): Row(dataset_read),
    (f"{TB_DATASET}/commits", "POST"): Row(dataset_write, Call(body=with_draft(title="commit"))),
    (f"{TB_DATASET}/branches", "GET"): Row(dataset_read),
    (f"{TB_DATASET}/branches", "POST"): Row(dataset_write, Call(body=body(name="feature", commit="main"))),
    (f"{TB_DATASET}/branches", "DELETE"): Row(dataset_write, Call(body=body(name="dev"))),
    (f"{TB_DATASET}/tags", "GET"): Row(dataset_read),
    (f"{TB_DATASET}/tags", "POST"): Row(dataset_write, Call(body=body(name="v2", commit="main"))),
    (f"{TB_DATASET}/tags", "DELETE"): Row(dataset_write, Call(body=body(name="v1"))),
    (f"{TB_DATASET}/segments", "GET"): Row(dataset_read, Call(query=status_query)),
    (f"{TB_DATASET}/segments", "POST"): Row(dataset_write, Call(body=with_draft(name="new-seg"))),
    (f"{TB_DATASET}/segments", "DELETE"): Row(dataset_write, Call(body=with_draft(segmentName="seg"))),
    (f"{TB_DATASET}/data", "GET"): Row(dataset_read, Call(query=entry_query)),
    (f"{TB_DATASET}/data", "POST"): Row(
        dataset_write,
        Call(
            query=fixed(multipleCopy=""),
            body=with_draft(
                segmentName="seg", source={"segmentName": "seg", "remotePaths": ["a.txt"]}, remotePaths=["b.txt"]
            ),
        ),
    ),
    (f"{TB_DATASET}/data", "DELETE"): Row(dataset_write, Call(body=with_draft(segmentName="seg", remotePath="a.txt"))),
    (f"{TB_DATASET}/data/details", "GET"): Row(dataset_read, Call(query=entry_query)),
    (f"{TB_DATASET}/data/urls", "GET"): Row(dataset_read, Call(query=entry_query)),
    # An upload policy lets its holder write to the dataset's storage: a write, though a GET.
    (f"{TB_DATASET}/policies", "GET"): Row(
        dataset_write, Call(query=lambda world, dataset: {"draftNumber": draft_number(world, dataset)})
    ),
    (f"{TB_DATASET}/multi/callback", "PUT"): Row(
        dataset_write,
        Call(
            body=with_draft(
                segmentName="seg", objects=[{"checksum": SHA1, "fileSize": len(CONTENT), "remotePath": "up.txt"}]
            )
        ),
    ),
    (f"{TB_DATASET}/multi/cloud-callback", "PUT"): Row(
        dataset_write,
        Call(body=with_draft(segmentName="seg", objects=[{"cloudPath": "c.txt", "remotePath": "cloud.txt"}])),
    ),
    (f"{TB_DATASET}/multi/data/labels", "PUT"): Row(
        dataset_write,
        Call(body=with_draft(segmentName="seg", objects=[{"remotePath": "a.txt", "label": {"CLASSIFICATION": {}}}])),
    ),
    (f"{TB_DATASET}/labels", "GET"): Row(dataset_read, Call(query=entry_query)),
    (f"{TB_DATASET}/labels", "PUT"): Row(
        dataset_write,
        Call(body=with_draft(segmentName="seg", remotePath="a.txt", label={"CLASSIFICATION": {"category": "cat"}})),
    ),
    (f"{TB_DATASET}/masks/urls", "GET"): Row(
        dataset_read, Call(query=lambda world, dataset: {**entry_query(world, dataset), "maskType": "SEMANTIC_MASK"})
    ),
    (f"{TB_DATASET}/labels/catalogs", "GET"): Row(dataset_read, Call(query=status_query)),
    (f"{TB_DATASET}/labels/catalogs", "PUT"): Row(dataset_write, Call(body=with_draft(catalog=CATALOG))),
    (f"{TB_DATASET}/labels/statistics", "GET"): Row(dataset_read, Call(query=status_query)),
    (f"{TB_DATASET}/notes", "GET"): Row(dataset_read, Call(query=status_query)),
    (f"{TB_DATASET}/notes", "PATCH"): Row(dataset_write, Call(body=with_draft(isContinuous=True))),
    (f"{TB_DATASET}/total-size", "GET"): Row(dataset_read, Call(query=status_query)),
    (f"{TB_DATASET}/jobs", "GET"): Row(dataset_read, Call(query=fixed(jobType="squashAndMerge"))),
    (f"{TB_DATASET}/jobs", "POST"): Row(
        dataset_write, Call(body=body(title="m", jobType="squashAndMerge", arguments=MERGE_ARGUMENTS))
    ),
    (f"{TB_DATASET}/jobs/<str:job_id>", "GET"): Row(
        dataset_read, Call(params=job_param("queued"), query=fixed(jobType="squashAndMerge"))
    ),
    (f"{TB_DATASET}/jobs/<str:job_id>", "DELETE"): Row(
        dataset_write, Call(params=job_param("queued"), query=fixed(jobType="squashAndMerge"))
    ),
    (f"{TB_DATASET}/jobs/<str:job_id>/abort", "POST"): Row(
        dataset_write, Call(params=job_param("queued"), query=fixed(jobType="squashAndMerge"))
    ),
    (f"{TB_DATASET}/jobs/<str:job_id>/retry", "POST"): Row(
        dataset_write, Call(params=job_param("aborted"), query=fixed(jobType="squashAndMerge"))
    ),
    ("searchResults/<str:job_id>/datasets", "POST"): Row(
        search_result_create,
        Call(
            params=job_param("search"),
            body=lambda world, dataset, caller: {"datasetName": f"found-{uuid.uuid4().hex}", "isPublic": False},
        ),
    ),
    (f"{TB_DATASET}/diffs/<str:basehead>/segments", "GET"): Row(
        dataset_read, Call(params=lambda world, dataset: {"basehead": f"commit-{world.heads[dataset.name]}"})
    ),
    (f"{TB_DATASET}/diffs/<str:basehead>/segments/<path:segment>/data", "GET"): Row(
        dataset_read,
        Call(params=lambda world, dataset: {"basehead": f"commit-{world.heads[dataset.name]}", "segment": "seg"}),
    ),
    (f"{TB_DATASET}/sensors", "GET"): Row(dataset_read, Call(query=entry_query), fusion=True),
    (f"{TB_DATASET}/sensors", "POST"): Row(
        dataset_write, Call(body=with_draft(segmentName="seg", name="RADAR", type="RADAR")), fusion=True
    ),
    (f"{TB_DATASET}/sensors", "DELETE"): Row(
        dataset_write, Call(body=with_draft(segmentName="seg", sensorName="CAM")), fusion=True
    ),
    (f"{TB_DATASET}/frames", "DELETE"): Row(
        dataset_write, Call(body=with_draft(segmentName="seg", frameId=FRAME_ID)), fusion=True
    ),
}

GRAVITI: dict[tuple[str, str], Row] = {
    ("current-user", "GET"): Row(any_key, per_dataset=False),
    ("current-workspace", "GET"): Row(any_key, per_dataset=False),
    ("workspaces/<str:workspace>", "GET"): Row(member_workspace_read, per_dataset=False),
    ("workspaces/<str:workspace>/storage-configs", "GET"): Row(member_workspace_read, per_dataset=False),
    ("workspaces/<str:workspace>/storage-configs", "PATCH"): Row(
        member_workspace_write,
        Call(body=body(default_storage_config="lab-store")),
        per_dataset=False,
    ),
    ("workspaces/<str:workspace>/storage-configs/<str:storage_config>", "GET"): Row(
        member_workspace_read, per_dataset=False
    ),
    ("datasets", "GET"): Row(key_workspace_list),
    ("datasets", "POST"): Row(
        key_workspace_create,
        Call(body=body(name="created", alias="")),
        per_dataset=False,
    ),
    (GV_DATASET, "GET"): Row(dataset_read),
    (GV_DATASET, "PATCH"): Row(dataset_write, Call(body=body(alias="renamed"))),
    (GV_DATASET, "DELETE"): Row(dataset_write),
    (f"{GV_DATASET}/branches", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/branches", "POST"): Row(dataset_write, Call(body=body(name="feature", revision="main"))),
    (f"{GV_DATASET}/branches/<str:branch>", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/branches/<str:branch>", "DELETE"): Row(dataset_write),
    (f"{GV_DATASET}/commits", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/commits", "POST"): Row(
        dataset_write,
        Call(body=lambda world, dataset, caller: {"draft_number": draft_number(world, dataset), "title": "commit"}),
    ),
    (f"{GV_DATASET}/commits/<str:commit_id>", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/revisions/<str:revision>", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/drafts", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/drafts", "POST"): Row(dataset_write, Call(body=body(title="t"))),
    (f"{GV_DATASET}/drafts/<int:draft_number>", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/drafts/<int:draft_number>", "PATCH"): Row(dataset_write, Call(body=body(title="retitled"))),
    (f"{GV_DATASET}/tags", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/tags", "POST"): Row(dataset_write, Call(body=body(name="v2", revision="main"))),
    (f"{GV_DATASET}/tags/<str:tag>", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/tags/<str:tag>", "DELETE"): Row(dataset_write),
    **{
        (f"{GV_DATASET}/{revision}/sheets", "GET"): Row(dataset_read)
        for revision in ("drafts/<int:draft_number>", "commits/<str:commit_id>")
    },
    **{
        (f"{GV_DATASET}/{revision}/sheets/<str:sheet>", "GET"): Row(dataset_read)
        for revision in ("drafts/<int:draft_number>", "commits/<str:commit_id>")
    },
    **{
        (f"{GV_DATASET}/{revision}/sheets/<str:sheet>/{rows}", "GET"): Row(dataset_read)
        for revision in ("drafts/<int:draft_number>", "commits/<str:commit_id>")
        for rows in ("data", "records")
    },
    (f"{GV_DATASET}/drafts/<int:draft_number>/sheets", "POST"): Row(
        dataset_write, Call(body=body(name="new-sheet", schema=SHEET_PORTEX, _avro_schema=SHEET_AVRO))
    ),
    (f"{GV_DATASET}/drafts/<int:draft_number>/sheets/<str:sheet>", "DELETE"): Row(dataset_write),
    (f"{GV_DATASET}/drafts/<int:draft_number>/sheets/<str:sheet>/data", "POST"): Row(
        dataset_write, Call(body=body(data=[{"id": 2}]))
    ),
    (f"{GV_DATASET}/drafts/<int:draft_number>/sheets/<str:sheet>/data", "PATCH"): Row(
        dataset_write, Call(body=body(data=[{"id": 3, "__record_key": FIRST_RECORD_KEY}]))
    ),
    (f"{GV_DATASET}/drafts/<int:draft_number>/sheets/<str:sheet>/data", "DELETE"): Row(
        dataset_write, Call(body=body(record_keys=[FIRST_RECORD_KEY]))
    ),
    (f"{GV_DATASET}/drafts/<int:draft_number>/sheets/<str:sheet>/records", "POST"): Row(
        dataset_write, Call(body=body(records=[{"id": 2}]))
    ),
    (f"{GV_DATASET}/drafts/<int:draft_number>/sheets/<str:sheet>/records", "PATCH"): Row(
        dataset_write, Call(body=body(records=[{"id": 3, "__record_key": FIRST_RECORD_KEY}]))
    ),
    (f"{GV_DATASET}/drafts/<int:draft_number>/sheets/<str:sheet>/records", "DELETE"): Row(
        dataset_write, Call(body=body(record_keys=[FIRST_RECORD_KEY]))
    ),
    (f"{GV_DATASET}/drafts/<int:draft_number>/sheets/<str:sheet>/schema", "PATCH"): Row(
        dataset_write, Call(body=body(_schema=SHEET_PORTEX, _avro_schema=SHEET_AVRO))
    ),
    (f"{GV_DATASET}/searches", "GET"): Row(dataset_read),
    # A search reads: readers, and anyone who may read a public dataset, search it.
    (f"{GV_DATASET}/searches", "POST"): Row(
        dataset_read,
        Call(
            body=lambda world, dataset, caller: {
                "sheet": "table",
                "criteria": {},
                "commit_id": world.heads[dataset.name],
            }
        ),
    ),
    (f"{GV_DATASET}/searches/<str:search_id>", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/searches/<str:search_id>", "DELETE"): Row(dataset_write),
    (f"{GV_DATASET}/searches/<str:search_id>/record-count", "GET"): Row(dataset_read),
    (f"{GV_DATASET}/searches/<str:search_id>/records", "GET"): Row(dataset_read),
    # A PUT permission lets its holder write to the dataset's storage: a write, though a GET.
    (f"{GV_DATASET}/objects/permissions", "GET"): Row(dataset_write, Call(query=fixed(actions="PUT"))),
    (f"{GV_DATASET}/objects/copy", "POST"): Row(
        dataset_write,
        Call(
            body=lambda world, dataset, caller: {"source_dataset": dataset.name, "keys": [f"{dataset.hex_id}/{SHA1}"]}
        ),
    ),
}


def whalerun_user(world: World, caller: str) -> int:
    """The acting user a whale.run caller names (the anonymous call names the writer, and sends no token)."""
    return world.users["writer" if caller == "anonymous" else caller].pk


def whalerun_edit(world: World, dataset: Dataset, caller: str) -> dict[str, Any]:
    return {"user_id": whalerun_user(world, caller), "title": "t", "description": "", "license": "", "file_ids": []}


WHALERUN: dict[tuple[str, str], Row] = {
    ("dataset_files/", "POST"): Row(
        service_write,
        Call(
            body=lambda world, dataset, caller: {
                "user_id": whalerun_user(world, caller),
                "name": "f.txt",
                "oss_object": "uploads/f.txt",
                "size": len(CONTENT),
            }
        ),
        per_dataset=False,
    ),
    ("datasets/", "GET"): Row(service_read),
    ("datasets/", "POST"): Row(service_write, Call(body=whalerun_edit), per_dataset=False),
    ("datasets/<int:dataset_id>/", "PUT"): Row(creator_write, Call(body=whalerun_edit)),
    ("datasets/<int:dataset_id>/hidden/", "PUT"): Row(
        creator_write,
        Call(body=lambda world, dataset, caller: {"user_id": whalerun_user(world, caller), "hidden": True}),
    ),
    **{
        (f"datasets/<int:dataset_id>/{counter}/", "PUT"): Row(service_write, Call(body=body(delta=1)))
        for counter in ("total_notebooks", "total_topics", "total_comments", "total_votes")
    },
}

TABLES: dict[str, dict[tuple[str, str], Row]] = {
    "tensorbay": TENSORBAY,
    "graviti": GRAVITI,
    "whalerun": WHALERUN,
    "aidmp": {("datasets", "GET"): Row(public_list)},
    "institution": {("datasets", "GET"): Row(key_workspace_list)},
}

# Routes outside the dialects (all view functions, any method), with what an anonymous GET gets: a status, or
# the path it is redirected to. The first pattern that matches a route decides.
NON_DIALECT: list[tuple[str, int | str]] = [
    (r"admin/login/", 200),
    # Logging out without a session goes back to the admin's index (which asks to log in).
    (r"admin/logout/", "/admin/"),
    # Every other admin page, the catch-all for unknown admin paths included, sends anonymous visitors to log in.
    (r"admin/.*", "/admin/login/"),
    (r"healthz", 200),
    (r"openapi/\w+\.json", 200),
    (r"docs/", 200),
    # The front page and public catalog; pages of datasets that do not exist, and forged previews, are 404s.
    (r"", 200),
    (r"datasets/<str:workspace>/<str:name>/", 404),
    (r"datasets/<str:workspace>/<str:name>/diff/", 404),
    (r"previews/<str:token>", 404),
    # The hub's storage answers only signed tokens.
    (r"storage/files/<str:token>", 403),
    (r"storage/uploads", 405),
    (r"storage/graviti/<path:key>", 403),
    (r"storage/\^\(\?P<path>\.\*\)\$", 404),
]


def non_dialect_expectation(route: str) -> int | str | None:
    for pattern, expected in NON_DIALECT:
        if re.fullmatch(pattern, route):
            return expected
    return None


ROUTES = enumerate_routes()


def matrix_cases() -> Iterator[Any]:
    for route, method, _ in ROUTES:
        located = dialect_of(route)
        if located is None:
            continue
        dialect, relative = located
        row = TABLES[dialect].get((relative, method))
        if row is None:
            yield pytest.param(route, method, None, "", "", id=f"{method} /{route} UNCLASSIFIED")
            continue
        visibilities = ("private", "public") if row.per_dataset else ("none",)
        for caller in CALLERS:
            for visibility in visibilities:
                yield pytest.param(
                    route, method, row, caller, visibility, id=f"{method} /{route} {caller} {visibility}"
                )


# The world


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Build the world once, inside a transaction every test nests in and that is rolled back at the end."""
    root = tmp_path_factory.mktemp("matrix")
    local_root: Path = root / "local"
    with (
        override_settings(
            MEDIA_ROOT=root / "media",
            STORAGE_LOCAL_ROOT=local_root,
            STORAGE_PUBLIC_URL="http://testserver",
            WHALERUN_SERVICE_TOKEN=SERVICE_TOKEN,
        ),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield build_world(local_root)
        transaction.set_rollback(True)


def build_world(local_root: Path) -> World:
    owner = User.objects.create(username="owen")
    users = {name: User.objects.create(username=name) for name in ("outsider", "reader", "writer", "former_member")}
    users["stray_key"] = users["writer"]
    lab = services.workspace_get_or_create(name="lab", owner=owner)
    for name, role in (("reader", "reader"), ("writer", "writer"), ("former_member", "writer")):
        services.membership_set(workspace=lab, user=users[name], role=role)
    outsider_workspace = services.personal_workspace(user=users["outsider"])
    key_workspaces = {
        "outsider": outsider_workspace,
        "reader": lab,
        "writer": lab,
        "stray_key": services.personal_workspace(user=users["writer"]),
        "former_member": lab,
    }
    access_keys = {
        caller: services.access_key_create(user=users[caller], workspace=key_workspaces[caller])[1]
        for caller in key_workspaces
    }
    signing_keys = {}
    for caller, workspace in key_workspaces.items():
        key, secret = services.signing_key_create(user=users[caller], workspace=workspace)
        signing_keys[caller] = (key.secret_id, secret)
    Membership.objects.filter(workspace=lab, user=users["former_member"]).delete()
    store = storage_services.storage_config_create(workspace=lab, name="lab-store", kind="local", file_path="lab")
    storage_services.storage_config_create(workspace=lab, name="spare-store", kind="local", file_path="spare")
    (local_root / "lab").mkdir(parents=True)
    (local_root / "lab" / "c.txt").write_bytes(CONTENT)
    default_storage.save("uploads/f.txt", ContentFile(CONTENT))
    datasets, drafts, heads, searches = {}, {}, {}, {}
    job_ids: dict[str, dict[str, str]] = {}
    for name, is_public in (("private", False), ("public", True)):
        dataset = services.dataset_create(
            workspace=lab, creator=users["writer"], name=name, is_public=is_public, storage_config=store
        )
        backend_for(store).save(f"{dataset.hex_id}/{SHA1}", ContentFile(CONTENT))
        entry = Entry.create(
            segment="seg", remote_path="a.txt", object_key=f"{dataset.hex_id}/{SHA1}", sha1=SHA1, size=len(CONTENT)
        )
        versioning.commit_import(dataset=dataset, entries=[entry], title="first")
        with_sheet = versioning.draft_create(dataset=dataset, title="sheet", creator=users["writer"])
        versioning.draft_segment_put(draft=with_sheet, name="table")
        schema = sheets.schema_texts(portex=SHEET_PORTEX, avro=SHEET_AVRO)
        versioning.draft_segment_metadata_set(draft=with_sheet, name="table", key=sheets.SCHEMA_KEY, value=schema)
        versioning.sheet_rows_add(draft=with_sheet, name="table", rows=[{"id": 1}])
        head = versioning.draft_commit(draft=with_sheet, title="sheet")
        searches[name] = versioning.search_create(
            revision=versioning_selectors.revision_resolve(dataset=dataset, revision=head.id),
            sheet="table",
            criteria={},
        ).id
        versioning.branch_create(dataset=dataset, name="dev", revision="main")
        versioning.tag_create(dataset=dataset, name="v1", revision="main")
        open_draft = versioning.draft_create(dataset=dataset, title="open", creator=users["writer"])
        versioning.draft_metadata_set(draft=open_draft, catalog=CATALOG)
        drafts[name] = open_draft.number
        datasets[name], heads[name] = dataset, head.id
        made = [
            jobs.job_create(dataset=dataset, job_type="squashAndMerge", title="m", arguments=MERGE_ARGUMENTS)
            for _ in range(2)
        ]
        jobs.job_abort(job=made[1])
        search = jobs.job_create(
            dataset=dataset,
            job_type="basicSearch",
            title="s",
            arguments={"commit": head.id, "filters": [{"key": "size", "operator": ">", "value": 0}]},
        )
        jobs.job_run(job_id=search.pk, attempt=search.attempt)
        job_ids[name] = {"queued": made[0].pk, "aborted": made[1].pk, "search": search.pk}
    for visibility, is_public in (("private", False), ("public", True)):
        name = f"fusion-{visibility}"
        dataset = services.dataset_create(
            workspace=lab,
            creator=users["writer"],
            name=name,
            is_public=is_public,
            storage_config=store,
            kind=Dataset.Kind.FUSION,
        )
        backend_for(store).save(f"{dataset.hex_id}/{SHA1}", ContentFile(CONTENT))
        setup = versioning.draft_create(dataset=dataset, title="frames")
        versioning.draft_segment_put(draft=setup, name="seg")
        versioning.draft_sensor_put(draft=setup, segment="seg", sensor={"name": "CAM", "type": "CAMERA"})
        part = Part("CAM", "a.txt", f"{dataset.hex_id}/{SHA1}", SHA1, len(CONTENT))
        versioning.draft_frame_parts_put(draft=setup, segment="seg", parts=[(FRAME_ID, part)])
        head = versioning.draft_commit(draft=setup, title="first")
        drafts[name] = versioning.draft_create(dataset=dataset, title="open", creator=users["writer"]).number
        datasets[name], heads[name] = dataset, head.id
    world = World(
        lab, outsider_workspace, {"owner": owner, **users}, access_keys, signing_keys, datasets, drafts, heads, searches
    )
    world.jobs = job_ids
    return world


@pytest.fixture(scope="module")
def module_client() -> APIClient:
    """One client for the module: building a handler loads the middleware, which scans the static files."""
    return APIClient(raise_request_exception=False)


@pytest.fixture
def client(module_client: APIClient, world: World, db: None) -> APIClient:
    """The module's client, with a clean cache (signatures are accepted once)."""
    cache.clear()
    return module_client


# Calling


def fill(route: str, values: dict[str, Any]) -> str:
    """Put the values in the route's ``<converter:name>`` slots."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda match: quote(str(values[match.group(1)]), safe=""), route)


def path_values(world: World, dataset: Dataset | None, dialect: str) -> dict[str, Any]:
    """Real objects for every path parameter a dialect route may have."""
    values: dict[str, Any] = {"workspace": world.lab.name, "storage_config": "lab-store", "name": "lab-store"}
    if dataset is not None:
        values |= {
            "dataset_id": dataset.pk if dialect == "whalerun" else dataset.hex_id,
            "dataset": dataset.name,
            "draft_number": world.drafts[dataset.name],
            "branch": "dev",
            "tag": "v1",
            "commit_id": world.heads[dataset.name],
            "revision": "v1",
            "sheet": "table",
            "search_id": world.searches.get(dataset.name, "none"),
        }
    return values


def credentials(world: World, dialect: str, caller: str) -> dict[str, str]:
    if caller == "anonymous" or dialect == "institution":
        return {}
    if dialect == "whalerun":
        return {"HTTP_X_SERVICE_TOKEN": SERVICE_TOKEN}
    return {"HTTP_X_TOKEN": world.access_keys[caller]}


def signed(world: World, caller: str, query: dict[str, Any]) -> dict[str, Any]:
    """The institution query signed with the caller's signing key (unique, as each signature is good once)."""
    if caller == "anonymous":
        return query
    secret_id, secret = world.signing_keys[caller]
    query = {**query, "SecretId": secret_id, "Timestamp": str(int(time.time() * 1000)), "nonce": uuid.uuid4().hex}
    canonical = "&".join(f"{name}={quote(str(value), safe='')}" for name, value in sorted(query.items()))
    return {**query, "Signature": services.signature_compute(secret=secret, message=canonical)}


def call(
    client: APIClient,
    world: World,
    dialect: str,
    route: str,
    method: str,
    row: Row,
    caller: str,
    dataset: Dataset | None,
) -> Any:
    """Make the request the row describes as the caller."""
    target = dataset or world.datasets["public"]
    path = fill(route, path_values(world, dataset, dialect) | row.call.params(world, target))
    query = row.call.query(world, target)
    if dialect == "institution":
        query = signed(world, caller, query)
    if query:
        path = f"{path}?{urlencode(query, quote_via=quote)}"
    body = row.call.body(world, target, caller)
    send = getattr(client, method.lower())
    if body is None:
        return send(path, **credentials(world, dialect, caller))
    return send(path, body, format="json", **credentials(world, dialect, caller))


def listed_ids(dialect: str, body: Any) -> set[str]:
    """The ids of the datasets a list answer shows, in the dialect's spelling."""
    if dialect == "whalerun":
        return {item["uuid"] for item in body["data"]["datasets"]}
    if dialect == "aidmp":
        return {item["repo"]["id"].replace("-", "") for item in body["datasets"]}
    if dialect == "institution":
        return {str(item["id"]) for item in body["datasets"]}
    if "configs" in body:
        return {item["name"] for item in body["configs"]}
    return {item["id"] for item in body["datasets"]}


def shown_id(dialect: str, route: str, dataset: Dataset | None) -> str:
    if route.endswith("storage-configs"):
        return "lab-store"
    assert dataset is not None
    return str(dataset.pk) if dialect == "institution" else dataset.hex_id


STATUSES = {UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, HIDDEN: 404}


@pytest.mark.parametrize(("route", "method", "row", "caller", "visibility"), list(matrix_cases()))
def test_route_allows_exactly_its_callers(
    client: APIClient, world: World, route: str, method: str, row: Row | None, caller: str, visibility: str
) -> None:
    assert row is not None, f"{method} /{route} is not classified in the permission matrix's tables"
    located = dialect_of(route)
    assert located is not None
    dialect = located[0]
    dataset = world.datasets.get(f"fusion-{visibility}" if row.fusion else visibility)
    seen = (WHALERUN_SEEN_AS if dialect == "whalerun" else SEEN_AS).get(caller, caller)
    expected = UNAUTHENTICATED if seen == "revoked" else row.rule(seen, visibility)
    response = call(client, world, dialect, route, method, row, caller, dataset)
    if expected in (OK, LISTED, UNLISTED):
        assert response.status_code in (200, 201), response.content.decode()
        if expected != OK:
            shown = shown_id(dialect, route, dataset) in listed_ids(dialect, response.json())
            assert shown is (expected == LISTED), response.content.decode()
        return
    assert response.status_code == STATUSES[expected], response.content.decode()
    if expected == HIDDEN:
        if dataset is not None:
            services.dataset_delete(dataset=Dataset.objects.get(pk=dataset.pk))
        else:
            Workspace.objects.filter(pk=world.lab.pk).update(name="renamed-lab")
        missing = call(client, world, dialect, route, method, row, caller, dataset)
        assert (response.status_code, response.content) == (missing.status_code, missing.content)


def test_every_route_is_classified() -> None:
    """A route missing from the tables fails here by name; so does a table row whose route is gone."""
    served = set()
    for route, method, _ in ROUTES:
        located = dialect_of(route)
        if located is None:
            assert non_dialect_expectation(route) is not None, f"{method} /{route} is not classified"
            continue
        served.add((located[0], located[1], method))
        assert (located[1], method) in TABLES[located[0]], f"{method} /{route} is not classified"
    stale = {(dialect, key) for dialect, table in TABLES.items() for key in table} - {
        (dialect, (relative, method)) for dialect, relative, method in served
    }
    assert not stale, f"classified routes the URL configuration no longer serves: {sorted(stale)}"


NON_DIALECT_ROUTES = sorted({route for route, _, _ in ROUTES if dialect_of(route) is None})
SAMPLE_VALUES = {"app_label": "datasets", "url": "nowhere/", "path": "elsewhere", "token": "not-a-token"}


def sample_path(route: str) -> str:
    """A path the route matches: converters and regular expression groups filled with sample values."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: SAMPLE_VALUES[match.group(1)], route)
    route = route.replace("^", "").replace("$", "")
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda match: SAMPLE_VALUES.get(match.group(1), "1"), route)


@pytest.mark.parametrize("route", NON_DIALECT_ROUTES, ids=[f"/{route}" for route in NON_DIALECT_ROUTES])
def test_route_outside_the_dialects_answers_anonymous_callers_as_classified(client: APIClient, route: str) -> None:
    expected = non_dialect_expectation(route)
    assert expected is not None, f"/{route} is not classified"
    response = client.get(sample_path(route))
    if isinstance(expected, str):
        assert (response.status_code, response["Location"].partition("?")[0]) == (302, expected)
    else:
        assert response.status_code == expected


@pytest.mark.parametrize(
    ("caller", "acl_list"),
    [("anonymous", []), ("outsider", [1]), ("reader", [1]), ("writer", [1, 2]), ("stray_key", [1])],
)
def test_aidmp_acl_list_says_what_the_caller_may_do_with_a_public_dataset(
    client: APIClient, world: World, caller: str, acl_list: list[int]
) -> None:
    response = client.get("/aids/aidmp/data/v1/datasets", **credentials(world, "aidmp", caller))
    [item] = [item for item in response.json()["datasets"] if item["repo"]["name"] == "public"]
    assert item["repo"]["acl_list"] == acl_list


@pytest.mark.parametrize("route", ["segments?copy", "data?multipleCopy"])
def test_copying_from_a_private_dataset_of_another_workspace_fails_as_from_a_missing_one(
    client: APIClient, world: World, route: str
) -> None:
    outsider = world.users["outsider"]
    own = services.dataset_create(workspace=world.outsider_workspace, creator=outsider, name="own")
    draft = versioning.draft_create(dataset=own, title="copy", creator=outsider)
    source = world.datasets["private"]
    body = {"draftNumber": draft.number, "segmentName": "seg", "remotePaths": ["a.txt"]}

    def copy_from(dataset_id: str) -> Any:
        source_fields = {"id": dataset_id, "commit": world.heads["private"], "segmentName": "seg"}
        return client.post(
            f"/v1/datasets/{own.hex_id}/{route}",
            {**body, "source": {**source_fields, "remotePaths": ["a.txt"]}},
            format="json",
            **credentials(world, "tensorbay", "outsider"),
        )

    refused = copy_from(source.hex_id)
    services.dataset_delete(dataset=Dataset.objects.get(pk=source.pk))
    missing = copy_from(source.hex_id)
    assert (refused.status_code, refused.content) == (404, missing.content)


HIDDEN_READS = [
    pytest.param(route, method, row, id=f"{method} /{route}")
    for route, method, _ in ROUTES
    if (located := dialect_of(route)) is not None
    and (row := TABLES[located[0]].get((located[1], method))) is not None
    and row.rule is dataset_read
]


@pytest.mark.parametrize(("route", "method", "row"), HIDDEN_READS)
@pytest.mark.parametrize("caller", ["outsider", "reader"])
def test_a_hidden_public_dataset_is_read_by_members_only(
    client: APIClient, world: World, route: str, method: str, row: Row, caller: str
) -> None:
    dialect = dialect_of(route)[0]  # type: ignore[index]
    dataset = world.datasets["fusion-public" if row.fusion else "public"]
    services.dataset_moderate(
        dataset=Dataset.objects.get(pk=dataset.pk),
        actor=world.users["owner"],
        flag="hidden",
        value=True,
        reason="matrix",
    )
    response = call(client, world, dialect, route, method, row, caller, dataset)
    if caller == "reader":
        assert response.status_code in (200, 201), response.content.decode()
        return
    services.dataset_delete(dataset=Dataset.objects.get(pk=dataset.pk))
    missing = call(client, world, dialect, route, method, row, caller, dataset)
    assert (response.status_code, response.content) == (404, missing.content)
