"""Previews stay bounded: bombs, truncated images and huge text files are refused or cut off early."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from catalog import previews
from datasets import demo_content
from project import errors
from storage_configs.backends import hub_backend
from versioning.trees import Entry


def stored(key: str, content: bytes) -> Entry:
    hub_backend().save(key, ContentFile(content))
    return Entry(path=f"seg/{key}", object_key=key, sha1=f"{abs(hash(content)):040d}"[:40], size=len(content))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims the given size over one tiny compressed row: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.django_db
def test_a_thumbnail_is_a_small_png_remembering_the_image_size() -> None:
    content, _ = demo_content.street_scene(1)
    thumbnail = previews.thumbnail_get(backend=hub_backend(), entry=stored("a.png", content))
    image = Image.open(io.BytesIO(thumbnail.png))
    assert (image.format, max(image.size)) == ("PNG", previews.THUMBNAIL_SIZE)
    assert (thumbnail.width, thumbnail.height) == (demo_content.WIDTH, demo_content.HEIGHT)


@pytest.mark.django_db
def test_a_thumbnail_is_made_once_per_content(monkeypatch: pytest.MonkeyPatch) -> None:
    content, _ = demo_content.street_scene(1)
    entry = stored("a.png", content)
    previews.thumbnail_get(backend=hub_backend(), entry=entry)
    monkeypatch.setattr(previews, "_thumbnail_make", lambda raw: pytest.fail("made twice"))
    assert previews.thumbnail_get(backend=hub_backend(), entry=entry._replace(path="other/b.png"))


@pytest.mark.django_db
@pytest.mark.parametrize(("width", "height"), [(30_000, 30_000), (100_000, 100_000), (10_000, 4_001)])
def test_a_decompression_bomb_is_refused_from_its_header(width: int, height: int) -> None:
    with pytest.raises(errors.Invalid, match="pixels"):
        previews.thumbnail_get(backend=hub_backend(), entry=stored("bomb.png", png_claiming(width, height)))


@pytest.mark.django_db
def test_a_truncated_image_is_refused() -> None:
    content, _ = demo_content.street_scene(2)
    with pytest.raises(errors.Invalid, match="not a complete image"):
        previews.thumbnail_get(backend=hub_backend(), entry=stored("cut.png", content[: len(content) // 2]))


@pytest.mark.django_db
def test_a_file_that_is_no_image_is_refused() -> None:
    with pytest.raises(errors.Invalid, match="not a complete image"):
        previews.thumbnail_get(backend=hub_backend(), entry=stored("fake.png", b"just text"))


@pytest.mark.django_db
def test_an_image_too_large_to_preview_is_refused_without_reading_it(media: Path) -> None:
    entry = Entry(path="seg/huge.png", object_key="huge.png", sha1="1" * 40, size=previews.IMAGE_MAX_BYTES + 1)
    with pytest.raises(errors.Invalid, match="too large"):
        previews.thumbnail_get(backend=hub_backend(), entry=entry)


@pytest.mark.django_db
def test_a_1_gb_text_file_is_read_only_as_far_as_the_preview_shows(media: Path) -> None:
    media.mkdir(parents=True, exist_ok=True)
    with (media / "huge.txt").open("wb") as sparse:
        sparse.write(b"first line\nsecond line\n")
        sparse.truncate(1024**3)  # a sparse 1 GB file: only what is read costs anything
    entry = Entry(path="seg/huge.txt", object_key="huge.txt", sha1="2" * 40, size=1024**3)

    preview = previews.text_preview_get(backend=hub_backend(), entry=entry)

    assert preview.lines[:2] == ("first line", "second line")
    assert preview.truncated
    assert sum(len(line) for line in preview.lines) <= previews.TEXT_MAX_BYTES


@pytest.mark.django_db
def test_csv_previews_are_split_into_cells() -> None:
    preview = previews.text_preview_get(backend=hub_backend(), entry=stored("t.csv", b'a,b\n"x, y",2\n'))
    assert preview.rows == (("a", "b"), ("x, y", "2"))


@pytest.mark.django_db
def test_json_previews_are_indented() -> None:
    preview = previews.text_preview_get(backend=hub_backend(), entry=stored("t.json", b'{"a": [1]}'))
    assert preview.lines == ("{", '  "a": [', "    1", "  ]", "}")


def test_boxes_and_polygons_are_drawn_over_the_thumbnail() -> None:
    plain = Image.new("RGB", (200, 100), (255, 255, 255))
    output = io.BytesIO()
    plain.save(output, format="PNG")
    thumbnail = previews.Thumbnail(png=output.getvalue(), width=400, height=200)
    label = {
        "BOX2D": [{"box2d": {"xmin": 20, "ymin": 20, "xmax": 100, "ymax": 100}, "category": "car"}],
        "POLYGON": [{"polygon": [{"x": 200, "y": 20}, {"x": 380, "y": 20}, {"x": 300, "y": 180}], "category": "sign"}],
        "BOX2D_BROKEN": [{"box2d": "nonsense"}],
    }

    drawn = Image.open(io.BytesIO(previews.thumbnail_with_labels(thumbnail=thumbnail, label=label))).convert("RGB")

    assert drawn.getpixel((10, 30)) != (255, 255, 255)  # the box's left edge, at half scale
    assert drawn.getpixel((120, 10)) != (255, 255, 255)  # the polygon's top edge
    assert drawn.getpixel((180, 90)) == (255, 255, 255)


def test_a_label_without_shapes_leaves_the_thumbnail_as_it_is() -> None:
    thumbnail = previews.Thumbnail(png=b"png", width=1, height=1)
    assert previews.thumbnail_with_labels(thumbnail=thumbnail, label={"CLASSIFICATION": {"category": "a"}}) == b"png"
