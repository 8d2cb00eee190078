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
