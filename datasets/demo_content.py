"""Small, real demo content made on the fly: street scenes drawn with Pillow and their 2D box and polygon
labels (in TensorBay's label format), plus a CSV and a README. The same arguments give the same bytes, so the
demo stores each object once however often it is built."""

import io
import json
import random
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 320, 240
SKY, ROAD = (135, 190, 235), (90, 90, 96)
NIGHT_SKY, NIGHT_ROAD = (20, 28, 60), (45, 45, 52)
CAR_COLOURS = [(200, 40, 40), (40, 90, 200), (240, 200, 40), (30, 150, 80), (230, 230, 230)]


@dataclass(frozen=True)
class DemoFile:
    """A file of the demo: where it goes in its segment, its bytes and its label."""

    remote_path: str
    content: bytes
    label: dict[str, Any] | None = None


def street_scene(seed: int, *, night: bool = False, cars: int = 2) -> tuple[bytes, dict[str, Any]]:
    """A PNG street with cars (boxes) and a sign (polygon), and the label naming them."""
    chance = random.Random(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT), NIGHT_SKY if night else SKY)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 150, WIDTH, HEIGHT), fill=NIGHT_ROAD if night else ROAD)
    for x in range(0, WIDTH, 40):
        draw.rectangle((x + 5, 192, x + 25, 196), fill=(240, 240, 240))
    boxes = []
    for index in range(cars):
        x = 20 + index * (WIDTH - 40) // max(cars, 1) + chance.randint(0, 20)
        width, height = chance.randint(60, 80), chance.randint(30, 40)
        y = 200 - height + chance.randint(-10, 10)
        colour = CAR_COLOURS[chance.randrange(len(CAR_COLOURS))]
        draw.rounded_rectangle((x, y, x + width, y + height), radius=8, fill=colour)
        draw.ellipse((x + 8, y + height - 8, x + 24, y + height + 8), fill=(20, 20, 20))
        draw.ellipse((x + width - 24, y + height - 8, x + width - 8, y + height + 8), fill=(20, 20, 20))
        boxes.append({"box2d": {"xmin": x, "ymin": y, "xmax": x + width, "ymax": y + height + 8}, "category": "car"})
    sign_x = chance.randint(40, WIDTH - 60)
    sign = [(sign_x, 60), (sign_x + 30, 60), (sign_x + 40, 80), (sign_x + 30, 100), (sign_x, 100), (sign_x - 10, 80)]
    draw.line((sign_x + 15, 100, sign_x + 15, 150), fill=(60, 60, 60), width=4)
    draw.polygon(sign, fill=(220, 30, 30))
    if night:
        draw.ellipse((WIDTH - 60, 20, WIDTH - 30, 50), fill=(245, 245, 210))
    output = io.BytesIO()
    image.save(output, format="PNG")
    label = {
        "BOX2D": boxes,
        "POLYGON": [{"polygon": [{"x": x, "y": y} for x, y in sign], "category": "sign"}],
        "CLASSIFICATION": {"category": "night" if night else "day"},
    }
    return output.getvalue(), label


def street_files(seeds: range, *, night: bool = False, prefix: str = "street") -> list[DemoFile]:
    """Labelled street scenes named ``<prefix>-<seed>.png``."""
    files = []
    for seed in seeds:
        content, label = street_scene(seed, night=night, cars=1 + seed % 3)
        files.append(DemoFile(remote_path=f"{prefix}-{seed:03d}.png", content=content, label=label))
    return files


def annotations_csv(files: list[DemoFile]) -> DemoFile:
    """A CSV with one row per labelled box."""
    lines = ["file,category,xmin,ymin,xmax,ymax"]
    for demo_file in files:
        for box in (demo_file.label or {}).get("BOX2D", []):
            corners = box["box2d"]
            lines.append(
                f"{demo_file.remote_path},{box['category']},"
                f"{corners['xmin']},{corners['ymin']},{corners['xmax']},{corners['ymax']}"
            )
    return DemoFile(remote_path="boxes.csv", content=("\n".join(lines) + "\n").encode())


def readme(text: str) -> DemoFile:
    return DemoFile(remote_path="README.txt", content=text.encode())


def catalog_json(categories: list[str]) -> DemoFile:
    return DemoFile(
        remote_path="categories.json",
        content=json.dumps({"categories": [{"name": name} for name in categories]}).encode(),
    )


def digit_files(digits: range) -> list[DemoFile]:
    """28x28 greyscale images of digits, classified by the digit."""
    files = []
    for digit in digits:
        small = Image.new("L", (14, 14), 0)
        ImageDraw.Draw(small).text((4, 1), str(digit), fill=255)
        image = small.resize((28, 28), Image.Resampling.BILINEAR)
        output = io.BytesIO()
        image.save(output, format="PNG")
        files.append(
            DemoFile(
                remote_path=f"{digit}.png",
                content=output.getvalue(),
                label={"CLASSIFICATION": {"category": str(digit)}},
            )
        )
    return files


# Frame ids of the fusion demo: ULIDs (26 Crockford base32 digits), fixed so the demo is the same every time.
FRAME_ID_STEM = "01J00000000000000000"


def frame_id(index: int) -> str:
    return f"{FRAME_ID_STEM}{index:06d}"


@dataclass(frozen=True)
class FrameFile:
    """One camera's image of a frame: the frame, the sensor, the file's path, bytes, label and timestamp."""

    frame_id: str
    sensor: str
    remote_path: str
    content: bytes
    label: dict[str, Any]
    timestamp: float


STEREO_SENSORS = [
    {"name": "cam-left", "type": "CAMERA", "description": "left camera of the stereo pair"},
    {"name": "cam-right", "type": "CAMERA", "description": "right camera of the stereo pair"},
]
FRAME_START = 1_700_000_000.0


def stereo_frame(index: int, *, seed: int | None = None) -> list[FrameFile]:
    """Both cameras' street scenes of one frame, each labelled with its cars' 2D boxes only."""
    files = []
    for offset, sensor in enumerate(STEREO_SENSORS):
        content, label = street_scene((seed if seed is not None else index) * 2 + offset, cars=1 + index % 2)
        files.append(
            FrameFile(
                frame_id=frame_id(index),
                sensor=sensor["name"],
                remote_path=f"{sensor['name']}/{index:04d}.png",
                content=content,
                label={"BOX2D": label["BOX2D"]},
                timestamp=FRAME_START + index / 10,
            )
        )
    return files


CAR_SHEET_PORTEX = """type: record
fields:
  - name: id
    type: int64
  - name: colour
    type: string
  - name: doors
    type: int32
  - name: tags
    type: array
    items:
      type: string
  - name: image
    type: file.Image
"""
_IMAGE_FIELDS = [("key", "string"), ("extension", "string"), ("size", "long"), ("height", "int"), ("width", "int")]
CAR_SHEET_AVRO = json.dumps(
    {
        "type": "record",
        "name": "root",
        "namespace": "cn.graviti.portex",
        "fields": [
            {"name": "id", "type": ["null", "long"]},
            {"name": "colour", "type": ["null", "string"]},
            {"name": "doors", "type": ["null", "int"]},
            {"name": "tags", "type": ["null", {"type": "array", "items": "string", "default": []}]},
            {
                "name": "image",
                "type": [
                    "null",
                    {
                        "type": "record",
                        "name": "image",
                        "fields": [{"name": name, "type": ["null", kind]} for name, kind in _IMAGE_FIELDS],
                    },
                ],
            },
        ],
    }
)
CAR_COLOUR_NAMES = ["red", "blue", "yellow", "green", "white"]
CROP_WIDTH, CROP_HEIGHT = 96, 64


def car_crop(index: int) -> bytes:
    """A PNG of one car, in the colour ``CAR_COLOUR_NAMES[index % 5]``."""
    image = Image.new("RGB", (CROP_WIDTH, CROP_HEIGHT), ROAD)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((10, 16, 86, 48), radius=8, fill=CAR_COLOURS[index % len(CAR_COLOURS)])
    draw.ellipse((18, 40, 34, 56), fill=(20, 20, 20))
    draw.ellipse((62, 40, 78, 56), fill=(20, 20, 20))
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()
