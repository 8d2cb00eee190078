"""Institution list (seed 002): signed requests, filters, paging, and the seed's error codes."""

import time
from urllib.parse import quote

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from datasets import selectors, services
from datasets.api.institution import InstitutionDatasetSerializer
from datasets.models import Dataset, User, Workspace
from project.api.institution import MESSAGES
from tests.versioning.conftest import commit_frames
from versioning import services as versioning
from versioning.selectors import dataset_summaries
from versioning.trees import Entry

pytestmark = pytest.mark.django_db
URL = "/api/v1/datasets"


@pytest.fixture
def institution(user: User) -> Workspace:
    workspace = services.workspace_get_or_create(name="vision-institute", owner=user)
    workspace.alias = "测试机构"
    workspace.save()
    return workspace


@pytest.fixture
def signer(user: User, institution: Workspace) -> tuple[str, str]:
    key, secret = services.signing_key_create(user=user, workspace=institution)
    return key.secret_id, secret


def signed(client: APIClient, signer: tuple[str, str], **params: object) -> object:
    secret_id, secret = signer
    query = {"SecretId": secret_id, "Timestamp": str(int(time.time() * 1000)), **{k: str(v) for k, v in params.items()}}
    canonical = "&".join(f"{name}={quote(value, safe='')}" for name, value in sorted(query.items()))
    query["Signature"] = services.signature_compute(secret=secret, message=canonical)
    return client.get(URL, query)


def make(user: User, workspace: Workspace, name: str, data_type: int = 0, **fields: object) -> Dataset:
    return services.dataset_create(workspace=workspace, creator=user, name=name, data_type=data_type, **fields)


def test_lists_the_institutions_datasets_with_batches(
    api_client: APIClient, user: User, institution: Workspace, signer: tuple[str, str]
) -> None:
    dataset = make(user, institution, "人脸数据集001", description="亚洲人脸数据集", tags={"k": ["face", "detection"]})
    entries = [
        Entry.create(segment=segment, remote_path=f"{n}.jpg", object_key=f"{segment}{n}", sha1="c" * 40, size=100)
        for segment, count in (("批次001", 3), ("批次002", 2))
        for n in range(count)
    ]
    versioning.commit_import(dataset=dataset, entries=entries, title="import")
    make(user, services.personal_workspace(user=user), "elsewhere")
    response = signed(api_client, signer)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.json() == {  # type: ignore[attr-defined]
        "code": 0,
        "message": "调用成功",
        "datasetCount": 1,
        "datasets": [
            {
                "id": dataset.pk,
                "name": "人脸数据集001",
                "tags": ["face", "detection"],
                "describe": "亚洲人脸数据集",
                "type": 0,
                "institutionName": "测试机构",
                "createUser": user.username,
                "fileSize": 500,
                "dataCount": 5,
                "batchCount": 2,
                "batchList": [
                    {"batchId": "批次001", "batchName": "批次001", "dataCount": 3},
                    {"batchId": "批次002", "batchName": "批次002", "dataCount": 2},
                ],
            }
        ],
    }


def test_type_filters_and_newest_come_first(
    api_client: APIClient, user: User, institution: Workspace, signer: tuple[str, str]
) -> None:
    image, text, image2 = (make(user, institution, name, t) for name, t in (("a", 0), ("b", 2), ("c", 0)))
    ids = [d["id"] for d in signed(api_client, signer, type=0).json()["datasets"]]  # type: ignore[attr-defined]
    assert ids == [image2.pk, image.pk]
    everything = signed(api_client, signer).json()  # type: ignore[attr-defined]
    assert [d["id"] for d in everything["datasets"]] == [image2.pk, text.pk, image.pk]
    page = signed(api_client, signer, limit=1, offset=1).json()  # type: ignore[attr-defined]
    assert ([d["id"] for d in page["datasets"]], page["datasetCount"]) == ([text.pk], 3)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"type": 4}, 208),
        ({"type": "image"}, 208),
        ({"limit": "ten"}, 213),
        ({"limit": 101}, 214),
        ({"limit": 0}, 215),
        ({"offset": "x"}, 216),
    ],
)
def test_parameter_errors_have_the_seed_codes(
    api_client: APIClient, signer: tuple[str, str], params: dict, code: int
) -> None:
    response = signed(api_client, signer, **params)
    assert response.json() == {"code": code, "message": MESSAGES[code]}  # type: ignore[attr-defined]


def test_unsigned_request_is_refused_with_201(api_client: APIClient) -> None:
    response = api_client.get(URL)
    assert (response.status_code, response.json()) == (401, {"code": 201, "message": MESSAGES[201]})


def test_queries_do_not_grow_with_the_page(
    api_client: APIClient,
    user: User,
    institution: Workspace,
    signer: tuple[str, str],
    django_assert_max_num_queries: object,
) -> None:
    for n in range(10):
        dataset = make(user, institution, f"d{n}", tags={"k": ["v"]})
        entries = [Entry.create(segment=s, remote_path="f", object_key="o", sha1="d" * 40, size=1) for s in "abc"]
        versioning.commit_import(dataset=dataset, entries=entries, title="import")
    with django_assert_max_num_queries(14):  # type: ignore[operator]
        assert len(signed(api_client, signer, limit=2).json()["datasets"]) == 2  # type: ignore[attr-defined]
    with django_assert_max_num_queries(14):  # type: ignore[operator]
        assert len(signed(api_client, signer, limit=10).json()["datasets"]) == 10  # type: ignore[attr-defined]


def test_labels_and_masks_do_not_count_as_data(
    api_client: APIClient, user: User, institution: Workspace, signer: tuple[str, str]
) -> None:
    dataset = make(user, institution, "labelled")
    mask = {"remotePath": "0.png", "checksum": "d" * 40, "fileSize": 50, "objectKey": "mask"}
    label = {"BOX2D": [{"category": "cat"}, {"category": "dog"}], "SEMANTIC_MASK": mask, "PANOPTIC_MASK": mask}
    entries = [
        Entry.create(
            segment="批次001", remote_path=f"{n}.jpg", object_key=f"o{n}", sha1="c" * 40, size=100, label=label
        )
        for n in range(3)
    ]
    versioning.commit_import(dataset=dataset, entries=entries, title="import")
    listed = signed(api_client, signer).json()["datasets"][0]  # type: ignore[attr-defined]
    assert (listed["dataCount"], listed["fileSize"], listed["batchList"][0]["dataCount"]) == (3, 300, 3)


def test_a_fusion_datasets_batches_count_every_file_of_their_frames(
    api_client: APIClient, user: User, institution: Workspace, signer: tuple[str, str]
) -> None:
    dataset = make(user, institution, "drive", kind=Dataset.Kind.FUSION)
    commit_frames(dataset, "seq1", frames=3)
    commit_frames(dataset, "seq2", frames=2, sensors=("CAM", "LIDAR", "RADAR"))

    [item] = signed(api_client, signer).json()["datasets"]  # type: ignore[attr-defined]

    assert item["dataCount"] == 12
    assert [(batch["batchId"], batch["dataCount"]) for batch in item["batchList"]] == [("seq1", 6), ("seq2", 6)]


def test_list_items_are_byte_for_byte_what_the_serializer_writes(
    api_client: APIClient, user: User, institution: Workspace, signer: tuple[str, str]
) -> None:
    shown = make(user, institution, "faces", description="人脸\u2028", tags={"k": ["face", "detection"]})
    versioning.commit_import(
        dataset=shown,
        entries=[Entry.create(segment="b1", remote_path="1.jpg", object_key="b1", sha1="c" * 40, size=7)],
        title="import",
    )
    services.dataset_create(workspace=institution, creator=None, name="empty", data_type=1)

    response = signed(api_client, signer, limit=5)

    page = list(selectors.dataset_list_for_workspace(workspace=institution))
    context = {"summaries": dataset_summaries(datasets=page, with_segments=True)}
    items = InstitutionDatasetSerializer(page, many=True, context=context).data
    expected = {"code": 0, "message": MESSAGES[0], "datasetCount": 2, "datasets": items}
    assert response.content == JSONRenderer().render(expected)  # type: ignore[attr-defined]
