"""Previews of stored objects: image thumbnails with their labels drawn over them, and the head of text files.

Every preview is bounded before it is made: an image larger than ``IMAGE_MAX_BYTES`` or ``IMAGE_MAX_PIXELS``
is refused without decoding it (so a decompression bomb costs a header read), a truncated or undecodable one
is refused, and a text preview reads at most ``TEXT_MAX_BYTES``. Results are cached by the object's SHA-1,
which names its content, so a preview is made once per content whatever dataset or commit shows it.
"""

import contextlib
import csv
import io
import json
import warnings
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from PIL import Image, ImageDraw

from project import errors
from storage_configs.backends import StorageBackend
from versioning.trees import Entry

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".json", ".jsonl", ".md", ".xml", ".yaml", ".yml", ".log")
THUMBNAIL_SIZE = 256
IMAGE_MAX_BYTES = 32 * 1024**2
IMAGE_MAX_PIXELS = 40_000_000
TEXT_MAX_BYTES = 4096
TEXT_MAX_LINES = 12
TEXT_MAX_LINE_LENGTH = 160
CACHE_SECONDS = 24 * 60 * 60
LABEL_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#008080", "#9a6324", "#800000")


@dataclass(frozen=True)
class Thumbnail:
    """A PNG thumbnail and the size of the image it was made from (labels are in that image's pixels)."""

    png: bytes
    width: int
    height: int


@dataclass(frozen=True)
class TextPreview:
    """The first lines of a text file; ``rows`` holds them split into cells for CSV and TSV."""

    lines: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    truncated: bool


def preview_kind(path: str) -> str:
    """``image``, ``text`` or ``none``, from the file name."""
    lowered = path.lower()
    if lowered.endswith(IMAGE_SUFFIXES):
        return "image"
    if lowered.endswith(TEXT_SUFFIXES):
        return "text"
    return "none"


def _read_at_most(backend: StorageBackend, key: str, limit: int) -> bytes:
    stream = backend.open(key)
    try:
        return stream.read(limit)
    finally:
        stream.close()


def _thumbnail_make(raw: bytes) -> Thumbnail:
    """Decode an image of bounded size into a thumbnail, refusing bombs and broken files."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as image:
                width, height = image.size
                if width * height > IMAGE_MAX_PIXELS:
                    raise errors.Invalid("image", f"{width}x{height} pixels is more than a preview decodes")
                image.draft("RGB", (THUMBNAIL_SIZE, THUMBNAIL_SIZE))
                image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
                converted = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise errors.Invalid("image", "more pixels than a preview decodes") from None
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError):
        raise errors.Invalid("image", "not a complete image this hub can decode") from None
    output = io.BytesIO()
    converted.save(output, format="PNG", optimize=True)
    return Thumbnail(png=output.getvalue(), width=width, height=height)


def thumbnail_get(*, backend: StorageBackend, entry: Entry) -> Thumbnail:
    """The entry's thumbnail, made on first use and cached by the object's SHA-1."""
    key = f"catalog:thumbnail:{entry.sha1}"
    cached = cache.get(key)
    if isinstance(cached, Thumbnail):
        return cached
    if isinstance(cached, str):
        raise errors.Invalid("image", cached)
    if entry.size > IMAGE_MAX_BYTES:
        raise errors.Invalid("image", f"larger than {IMAGE_MAX_BYTES // 1024**2} MiB, too large to preview")
    raw = _read_at_most(backend, entry.object_key, IMAGE_MAX_BYTES + 1)
    if len(raw) > IMAGE_MAX_BYTES:
        raise errors.Invalid("image", f"larger than {IMAGE_MAX_BYTES // 1024**2} MiB, too large to preview")
    try:
        thumbnail = _thumbnail_make(raw)
    except errors.Invalid as refusal:
        # A refusal is about the content, so it is remembered as long as a thumbnail would be.
        cache.set(key, refusal.reason, CACHE_SECONDS)
        raise
    cache.set(key, thumbnail, CACHE_SECONDS)
    return thumbnail


def _shapes(label: dict[str, Any] | None) -> list[tuple[str, str, list[tuple[float, float]]]]:
    """(kind, category, points) of the label's 2D boxes (``box``, two corners) and polygons (``polygon``)."""
    shapes: list[tuple[str, str, list[tuple[float, float]]]] = []
    for label_type, value in (label or {}).items():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                continue
            category = str(item.get("category", ""))
            try:
                if label_type.upper() == "BOX2D" and isinstance(item.get("box2d"), dict):
                    box = item["box2d"]
                    corners = [(float(box["xmin"]), float(box["ymin"])), (float(box["xmax"]), float(box["ymax"]))]
                    shapes.append(("box", category, corners))
                elif label_type.upper() == "POLYGON" and isinstance(item.get("polygon"), list):
                    points = [(float(point["x"]), float(point["y"])) for point in item["polygon"]]
                    if len(points) >= 3:
                        shapes.append(("polygon", category, points))
            except (KeyError, TypeError, ValueError):
                continue  # a malformed shape is left out of the drawing, never an error
    return shapes


def thumbnail_with_labels(*, thumbnail: Thumbnail, label: dict[str, Any] | None) -> bytes:
    """The thumbnail as PNG with the label's boxes and polygons drawn over it, one colour per category."""
    shapes = _shapes(label)
    if not shapes:
        return thumbnail.png
    with Image.open(io.BytesIO(thumbnail.png)) as opened:
        image = opened.convert("RGB")
    scale_x, scale_y = image.width / thumbnail.width, image.height / thumbnail.height
    draw = ImageDraw.Draw(image)
    categories: dict[str, str] = {}
    for kind, category, points in shapes:
        colour = categories.setdefault(category, LABEL_COLOURS[len(categories) % len(LABEL_COLOURS)])
        scaled = [(x * scale_x, y * scale_y) for x, y in points]
        if kind == "box":
            (x0, y0), (x1, y1) = scaled
            draw.rectangle((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), outline=colour, width=2)
            anchor = (min(x0, x1) + 2, min(y0, y1) + 1)
        else:
            draw.polygon(scaled, outline=colour, width=2)
            anchor = (scaled[0][0] + 2, scaled[0][1] + 1)
        if category:
            draw.text(anchor, category, fill=colour)
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def _text_make(raw: bytes, path: str, truncated: bool) -> TextPreview:
    text = raw.decode("utf-8", errors="replace")
    if truncated and "\n" in text:
        text = text[: text.rindex("\n")]  # the last line was cut by the byte limit
    if path.lower().endswith(".json") and not truncated:
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    all_lines = text.splitlines()
    lines = tuple(line[:TEXT_MAX_LINE_LENGTH] for line in all_lines[:TEXT_MAX_LINES])
    rows: tuple[tuple[str, ...], ...] = ()
    lowered = path.lower()
    if lowered.endswith((".csv", ".tsv")):
        dialect = "excel-tab" if lowered.endswith(".tsv") else "excel"
        rows = tuple(tuple(cell[:TEXT_MAX_LINE_LENGTH] for cell in row) for row in csv.reader(lines, dialect))
    return TextPreview(lines=lines, rows=rows, truncated=truncated or len(all_lines) > TEXT_MAX_LINES)


def text_preview_get(*, backend: StorageBackend, entry: Entry) -> TextPreview:
    """The first lines of the entry's text, reading at most ``TEXT_MAX_BYTES``; cached by SHA-1 and name."""
    kind = entry.path.rsplit(".", 1)[-1].lower()
    key = f"catalog:text:{entry.sha1}:{kind}"
    cached = cache.get(key)
    if isinstance(cached, TextPreview):
        return cached
    raw = _read_at_most(backend, entry.object_key, TEXT_MAX_BYTES + 1)
    preview = _text_make(raw[:TEXT_MAX_BYTES], entry.path, len(raw) > TEXT_MAX_BYTES)
    cache.set(key, preview, CACHE_SECONDS)
    return preview
