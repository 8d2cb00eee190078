"""Labels of every type through the official tensorbay SDK 1.24.2 over TLS: masks, catalog rules, statistics.

A dataset with all three mask types and every other label type of the SDK, under a catalog with enum, boolean
and integer attributes, is uploaded, committed and read back; masks are opened through their URLs and
listed per type; the statistics equal a count made here from what was sent; labels the catalog refuses raise
``ResponseError`` and leave the draft as it was; a move with ``skip`` keeps the target and removes the source.
"""

from pathlib import Path

import pytest

pytest.importorskip(
    "tensorbay", reason="the tensorbay SDK is not installed: pip install --no-deps -r requirements/tensorbay.txt"
)

import requests
from tensorbay import GAS
from tensorbay.client import config as sdk_config
from tensorbay.dataset import Data, Dataset
from tensorbay.exception import NameConflictError, ResponseError
from tensorbay.label import (
    Box2DSubcatalog,
    Box3DSubcatalog,
    Catalog,
    Classification,
    ClassificationSubcatalog,
    InstanceMask,
    InstanceMaskSubcatalog,
    Keypoints2DSubcatalog,
    LabeledBox2D,
    LabeledBox3D,
    LabeledKeypoints2D,
    LabeledMultiPolygon,
    LabeledMultiPolyline2D,
    LabeledPolygon,
    LabeledPolyline2D,
    LabeledRLE,
    LabeledSentence,
    MultiPolygonSubcatalog,
    MultiPolyline2DSubcatalog,
    PanopticMask,
    PanopticMaskSubcatalog,
    PolygonSubcatalog,
    Polyline2DSubcatalog,
    RLESubcatalog,
    SemanticMask,
    SemanticMaskSubcatalog,
    SentenceSubcatalog,
    Word,
)

from datasets import services
from tests.acceptance.conftest import HubServer
from tests.factories import UserFactory
from tests.versioning.label_counts import naive_statistics

pytestmark = pytest.mark.django_db(transaction=True)

sdk_config.timeout = 90
sdk_config.max_retries = 5

MASK_TYPES = ("SEMANTIC_MASK", "INSTANCE_MASK", "PANOPTIC_MASK")


def catalog(built: Catalog) -> Catalog:
    """Fill a catalog with a subcatalog for every type; boxes carry an enum, a boolean and an integer
    attribute."""
    subcatalogs = {
        "classification": ClassificationSubcatalog(),
        "box2d": Box2DSubcatalog(),
        "box3d": Box3DSubcatalog(),
        "polygon": PolygonSubcatalog(),
        "multi_polygon": MultiPolygonSubcatalog(),
        "rle": RLESubcatalog(),
        "polyline2d": Polyline2DSubcatalog(),
        "multi_polyline2d": MultiPolyline2DSubcatalog(),
        "keypoints2d": Keypoints2DSubcatalog(),
    }
    for name, subcatalog in subcatalogs.items():
        subcatalog.add_category("cat")
        subcatalog.add_category("dog")
        setattr(built, name, subcatalog)
    built.box2d.add_attribute("color", enum=["red", "blue"])
    built.box2d.add_attribute("occluded", type_="boolean")
    built.box2d.add_attribute("size", type_="integer", minimum=0, maximum=10)
    built.classification.add_attribute("sunny", type_="boolean")
    built.sentence = SentenceSubcatalog()
    built.semantic_mask = SemanticMaskSubcatalog()
    built.semantic_mask.add_category("cat", 0)
    built.semantic_mask.add_attribute("occluded", type_="boolean")
    built.instance_mask = InstanceMaskSubcatalog()
    built.instance_mask.is_tracking = False  # the SDK's constructor leaves it unset, and dumps() needs it
    built.instance_mask.add_category("cat", 0)
    built.instance_mask.add_attribute("occluded", type_="boolean")
    built.panoptic_mask = PanopticMaskSubcatalog()
    built.panoptic_mask.add_category("cat", 0)
    built.panoptic_mask.add_category("dog", 1)
    return built


def write(directory: Path, name: str, content: bytes) -> str:
    path = directory / name
    path.write_bytes(content)
    return str(path)


def local_dataset(name: str, directory: Path) -> tuple[Dataset, dict[str, bytes]]:
    """``seg`` with a.bin (every label type), b.bin (boxes and a semantic mask) and c.bin (no label); the
    masks' bytes by data path and mask type."""
    dataset = Dataset(name)
    catalog(dataset.catalog)
    segment = dataset.create_segment("seg")
    masks: dict[str, bytes] = {}

    a = Data(write(directory, "a.bin", b"data a"))
    a.label.classification = Classification("cat", attributes={"sunny": True})
    a.label.box2d = [
        LabeledBox2D(1, 2, 3, 4, category="cat", attributes={"color": "red", "occluded": True, "size": 3}),
        LabeledBox2D(5, 6, 7, 8, category="dog", attributes={"color": "blue", "occluded": False}),
    ]
    a.label.box3d = [LabeledBox3D(size=(1, 2, 3), translation=(1, 1, 1), category="cat")]
    a.label.polygon = [LabeledPolygon([(0, 0), (1, 0), (1, 1)], category="dog")]
    a.label.multi_polygon = [LabeledMultiPolygon([[(0, 0), (1, 0), (1, 1)], [(2, 2), (3, 2), (3, 3)]], category="cat")]
    a.label.rle = [LabeledRLE([1, 2, 3, 4], category="cat")]
    a.label.polyline2d = [LabeledPolyline2D([(0, 0), (2, 2)], category="cat")]
    a.label.multi_polyline2d = [LabeledMultiPolyline2D([[(0, 0), (1, 1)], [(2, 2), (3, 3)]], category="dog")]
    a.label.keypoints2d = [LabeledKeypoints2D([(1, 1, 2), (2, 2, 1)], category="cat")]
    a.label.sentence = [LabeledSentence([Word("hello", 0.0, 0.5)], [Word("HH AH")], [Word("h e")])]
    a.label.semantic_mask = SemanticMask(write(directory, "a-semantic.png", b"semantic mask of a"))
    a.label.semantic_mask.all_attributes = {0: {"occluded": True}}
    a.label.instance_mask = InstanceMask(write(directory, "a-instance.png", b"instance mask of a"))
    a.label.instance_mask.all_attributes = {7: {"occluded": False}}
    a.label.panoptic_mask = PanopticMask(write(directory, "a-panoptic.png", b"panoptic mask of a"))
    a.label.panoptic_mask.all_category_ids = {100: 0, 101: 1}
    masks.update({"a.bin/SEMANTIC_MASK": b"semantic mask of a", "a.bin/INSTANCE_MASK": b"instance mask of a"})
    masks["a.bin/PANOPTIC_MASK"] = b"panoptic mask of a"

    b = Data(write(directory, "b.bin", b"data b"))
    b.label.box2d = [LabeledBox2D(0, 0, 9, 9, category="cat", attributes={"color": "red", "size": 7})]
    b.label.semantic_mask = SemanticMask(write(directory, "b-semantic.png", b"semantic mask of b"))
    masks["b.bin/SEMANTIC_MASK"] = b"semantic mask of b"

    c = Data(write(directory, "c.bin", b"data c"))
    for data in (a, b, c):
        segment.append(data)
    return dataset, masks


def plain_labels(data: Data) -> dict:
    """The label as its type keys, masks reduced to a marker (only their count enters the statistics)."""
    dumped = {}
    for key in ("classification", "box2d", "box3d", "polygon", "multi_polygon", "rle", "polyline2d"):
        dumped[key] = getattr(data.label, key, None)
    for key in ("multi_polyline2d", "keypoints2d", "sentence", "semantic_mask", "instance_mask", "panoptic_mask"):
        dumped[key] = getattr(data.label, key, None)
    wire = {}
    for key, value in dumped.items():
        if value is None:
            continue
        if key.endswith("_mask"):
            wire[key.upper()] = {}
        elif isinstance(value, list):
            wire[key.upper()] = [item.dumps() for item in value]
        else:
            wire[key.upper()] = value.dumps()
    return wire


def test_labels_of_every_type_round_trip_and_are_counted(
    hub_server: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the SDK keeps opened masks under the working directory
    user = UserFactory(username="tb-labels")
    workspace = services.personal_workspace(user=user)
    gas = GAS(services.access_key_create(user=user, workspace=workspace)[1], hub_server.url)
    local, masks = local_dataset("labelled", tmp_path)
    gas.create_dataset("labelled")
    client = gas.get_dataset("labelled")
    client.create_draft("labels")
    uploaded = gas.upload_dataset(local, jobs=2)
    uploaded.commit("labels")
    client = uploaded

    # Read back: every non-mask label equal to what was sent, masks by path, info and bytes
    remote = Dataset("labelled", gas)
    sent = {data.target_remote_path: data for data in local["seg"]}
    read = {data.path: data for data in remote["seg"]}
    assert sorted(read) == ["a.bin", "b.bin", "c.bin"]
    for path, data in sent.items():
        for key in ("classification", "box2d", "box3d", "polygon", "multi_polygon", "rle", "polyline2d"):
            assert getattr(read[path].label, key, None) == getattr(data.label, key, None), (path, key)
        for key in ("multi_polyline2d", "keypoints2d", "sentence"):
            assert getattr(read[path].label, key, None) == getattr(data.label, key, None), (path, key)
    a, b = read["a.bin"].label, read["b.bin"].label
    assert (a.semantic_mask.path, a.instance_mask.path, a.panoptic_mask.path) == ("a.png",) * 3
    assert a.semantic_mask.all_attributes == {0: {"occluded": True}}
    assert a.instance_mask.all_attributes == {7: {"occluded": False}}
    assert a.panoptic_mask.all_category_ids == {100: 0, 101: 1}
    assert b.semantic_mask.path == "b.png" and getattr(b, "panoptic_mask", None) is None
    assert a.semantic_mask.open().read() == masks["a.bin/SEMANTIC_MASK"]
    assert a.instance_mask.open().read() == masks["a.bin/INSTANCE_MASK"]
    assert a.panoptic_mask.open().read() == masks["a.bin/PANOPTIC_MASK"]
    segment = client.get_segment("seg")
    assert segment.get_data("b.bin").label.semantic_mask.open().read() == masks["b.bin/SEMANTIC_MASK"]

    # list_mask_urls per type: aligned with the data, None where a data item has no such mask
    for mask_type in MASK_TYPES:
        urls = list(segment.list_mask_urls(mask_type))
        assert len(urls) == 3 and urls[2] is None
        for path, url in zip(("a.bin", "b.bin"), urls, strict=False):
            expected = masks.get(f"{path}/{mask_type}")
            if expected is None:
                assert url is None
            else:
                assert requests.get(url, timeout=30).content == expected

    # Statistics equal a count of what was sent
    expected_statistics = naive_statistics(
        [plain_labels(data) for data in local["seg"] if plain_labels(data)], local.catalog.dumps()
    )
    assert client.get_label_statistics().dumps() == expected_statistics
    assert expected_statistics["BOX2D"]["attributes"] == [
        {"name": "color", "enum": ["red", "blue"], "quantities": [2, 1]},
        {"name": "occluded", "enum": [False, True], "quantities": [1, 1]},
    ]

    # Refusals: a type without a catalog, an attribute outside the enum; the draft stays as it was
    client.create_draft("refusals")
    draft_segment = client.get_segment("seg")
    before = [plain_labels(data) for data in draft_segment.list_data()]
    reduced = catalog(Catalog())
    del reduced.polygon
    client.upload_catalog(reduced)
    polygon = Data(str(tmp_path / "c.bin"))
    polygon.label.polygon = [LabeledPolygon([(0, 0), (1, 1), (1, 0)], category="cat")]
    with pytest.raises(ResponseError):
        draft_segment.upload_label(polygon)
    green = Data(str(tmp_path / "c.bin"))
    green.label.box2d = [LabeledBox2D(0, 0, 1, 1, category="cat", attributes={"color": "green"})]
    with pytest.raises(ResponseError):
        draft_segment.upload_label(green)
    after = [plain_labels(data) for data in draft_segment.list_data()]
    assert after == before

    # Move with skip: the target keeps its content, the source is removed; abort on a segment is a conflict
    draft_segment.move_data("b.bin", "a.bin", strategy="skip")
    assert list(draft_segment.list_data_paths()) == ["a.bin", "c.bin"]
    assert draft_segment.get_data("a.bin").open().read() == b"data a"
    other = client.get_or_create_segment("other")
    other.upload_file(str(tmp_path / "c.bin"))
    with pytest.raises(NameConflictError):
        client.move_segment("other", "seg", strategy="abort")
    client.move_segment("other", "seg", strategy="skip")
    assert list(client.list_segment_names()) == ["seg"]
    assert list(client.get_segment("seg").list_data_paths()) == ["a.bin", "c.bin"]
