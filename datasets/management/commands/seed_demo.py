"""``manage.py seed_demo``: a small demo catalog with real content, made on the fly; safe to run again."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from datasets import demo_content, services
from datasets.models import Dataset, User, Workspace
from datasets.services import FileContent, SheetFile
from versioning import selectors as versioning_selectors
from versioning import services as versioning_services
from versioning import sheets

IMAGE_TAGS = {"数据类型": ["图片"], "应用场景": ["目标检测"]}
DEMO_DATASETS: list[dict[str, Any]] = [
    {
        "name": "street-scenes-demo",
        "title": "Street scenes (demo)",
        "description": "Drawn street scenes with cars labelled as 2D boxes and road signs as polygons, by day "
        "and by night. Two commits on main, a tag and an experiments branch.",
        "licence": "CC BY 4.0",
        "data_type": Dataset.DataType.IMAGE,
        "tags": IMAGE_TAGS,
    },
    {
        "name": "mnist-demo",
        "title": "MNIST (demo)",
        "description": "Handwritten digits, 28x28 greyscale images in ten classes.",
        "licence": "CC BY-SA 3.0",
        "data_type": Dataset.DataType.IMAGE,
        "tags": {"数据类型": ["图片"], "应用场景": ["图像分类"]},
    },
    {
        "name": "imdb-reviews-demo",
        "title": "IMDB reviews (demo)",
        "description": "Movie reviews labelled positive or negative.",
        "licence": "CC BY 4.0",
        "data_type": Dataset.DataType.TEXT,
        "tags": {"数据类型": ["文本"], "应用场景": ["情感分析"]},
    },
    {
        "name": "kitti-demo",
        "title": "KITTI (demo)",
        "description": "Street scenes with lidar point clouds and camera frames.",
        "licence": "CC BY-NC-SA 3.0",
        "data_type": Dataset.DataType.POINT_CLOUD,
        "tags": {"数据类型": ["点云", "图片"], "应用场景": ["自动驾驶"]},
    },
    {
        "name": "stereo-streets-demo",
        "title": "Stereo streets (demo)",
        "description": "A fusion dataset: frames from a left and a right camera, cars labelled as 2D boxes. Two "
        "commits: the second adds a frame and redraws one camera's image of another.",
        "licence": "CC BY 4.0",
        "data_type": Dataset.DataType.IMAGE,
        "kind": Dataset.Kind.FUSION,
        "tags": {"数据类型": ["图片"], "应用场景": ["自动驾驶"]},
    },
    {
        "name": "car-crops-demo",
        "title": "Car crops (demo)",
        "description": "A Graviti-style dataset: a sheet of cars with their colour, doors, tags and an image column.",
        "licence": "CC BY 4.0",
        "data_type": Dataset.DataType.IMAGE,
        "tags": IMAGE_TAGS,
    },
    {
        "name": "street-faces-demo",
        "title": "Street faces (demo)",
        "description": "Close-ups of passers-by; hidden by a curator, so only the admin shows it.",
        "licence": "CC BY 4.0",
        "data_type": Dataset.DataType.IMAGE,
        "tags": IMAGE_TAGS,
    },
]
HIDDEN_REASON = "Passers-by can be recognised; waiting for consent."
REVIEWS = [
    ("A warm, funny film that earns every one of its tears.", "positive"),
    ("Two hours I will never get back.", "negative"),
    ("The cast is superb and the score lingers for days.", "positive"),
    ("Flat characters, and a plot that goes nowhere.", "negative"),
]


def _street_scenes(dataset: Dataset, user: User) -> None:
    day = demo_content.street_files(range(6))
    first = [FileContent("day", file.remote_path, file.content, file.label) for file in day] + [
        FileContent("docs", file.remote_path, file.content)
        for file in (
            demo_content.annotations_csv(day),
            demo_content.readme("Street scenes drawn for the Dataset Hub demo.\nCars are BOX2D, signs POLYGON.\n"),
            demo_content.catalog_json(["car", "sign"]),
        )
    ]
    services.dataset_contents_commit(dataset=dataset, committer=user, title="First street photos", files=first)
    versioning_services.tag_create(dataset=dataset, name="v1.0", revision=dataset.default_branch, creator=user)
    night = demo_content.street_files(range(3), night=True, prefix="night")
    redrawn_content, redrawn_label = demo_content.street_scene(101, cars=3)
    kept = [file for file in day if file.remote_path != "street-005.png"]
    second = [
        *(FileContent("night", file.remote_path, file.content, file.label) for file in night),
        FileContent("day", "street-001.png", redrawn_content, redrawn_label),
        FileContent("docs", "boxes.csv", demo_content.annotations_csv(kept + night).content),
    ]
    services.dataset_contents_commit(
        dataset=dataset,
        committer=user,
        title="Add night photos, redraw street-001",
        files=second,
        deletes=[("day", "street-005.png")],
    )
    versioning_services.branch_create(dataset=dataset, name="experiments", revision=dataset.default_branch)
    crowded_content, crowded_label = demo_content.street_scene(7, cars=4)
    services.dataset_contents_commit(
        dataset=dataset,
        committer=user,
        title="Try a crowded street",
        files=[FileContent("day", "street-crowded.png", crowded_content, crowded_label)],
        branch_name="experiments",
    )
    services.dataset_moderate(dataset=dataset, actor=None, flag="featured", value=True, via="seed_demo")


def _digits(dataset: Dataset, user: User) -> None:
    files = [
        FileContent("train", file.remote_path, file.content, file.label) for file in demo_content.digit_files(range(10))
    ]
    services.dataset_contents_commit(dataset=dataset, committer=user, title="Ten digits", files=files)


def _reviews(dataset: Dataset, user: User) -> None:
    rows = "text,sentiment\n" + "".join(f'"{text}",{sentiment}\n' for text, sentiment in REVIEWS)
    files = [FileContent("train", "reviews.csv", rows.encode())] + [
        FileContent("train", f"review-{index}.txt", text.encode(), {"CLASSIFICATION": {"category": sentiment}})
        for index, (text, sentiment) in enumerate(REVIEWS)
    ]
    services.dataset_contents_commit(dataset=dataset, committer=user, title="Four reviews", files=files)


def _frame_contents(frames: list[demo_content.FrameFile]) -> list[FileContent]:
    return [
        FileContent(
            STEREO_SEGMENT,
            file.remote_path,
            file.content,
            file.label,
            frame_id=file.frame_id,
            sensor_name=file.sensor,
            timestamp=file.timestamp,
        )
        for file in frames
    ]


STEREO_SEGMENT = "drive-01"


def _stereo_streets(dataset: Dataset, user: User) -> None:
    first = [file for index in range(3) for file in demo_content.stereo_frame(index)]
    services.dataset_contents_commit(
        dataset=dataset,
        committer=user,
        title="First three stereo frames",
        files=_frame_contents(first),
        sensors={STEREO_SEGMENT: demo_content.STEREO_SENSORS},
    )
    redrawn = [file for file in demo_content.stereo_frame(1, seed=40) if file.sensor == "cam-right"]
    services.dataset_contents_commit(
        dataset=dataset,
        committer=user,
        title="Add a fourth frame, redraw the right camera of the second",
        files=_frame_contents(demo_content.stereo_frame(3) + redrawn),
    )


def _car_crops(dataset: Dataset, user: User) -> None:
    rows = [
        {
            "id": index,
            "colour": demo_content.CAR_COLOUR_NAMES[index % len(demo_content.CAR_COLOUR_NAMES)],
            "doors": 2 + 2 * (index % 2),
            "tags": ["parked"] if index % 3 == 0 else [],
            "image": SheetFile(
                demo_content.car_crop(index),
                ".png",
                {"width": demo_content.CROP_WIDTH, "height": demo_content.CROP_HEIGHT},
            ),
        }
        for index in range(6)
    ]
    services.dataset_sheet_commit(
        dataset=dataset,
        committer=user,
        title="Six cars",
        sheet="cars",
        schema=sheets.schema_texts(portex=demo_content.CAR_SHEET_PORTEX, avro=demo_content.CAR_SHEET_AVRO),
        rows=rows,
    )


def _faces(dataset: Dataset, user: User) -> None:
    files = [
        FileContent("all", file.remote_path, file.content, file.label)
        for file in demo_content.street_files(range(20, 22), prefix="faces")
    ]
    services.dataset_contents_commit(dataset=dataset, committer=user, title="Close-ups", files=files)
    services.dataset_moderate(
        dataset=dataset, actor=None, flag="hidden", value=True, reason=HIDDEN_REASON, via="seed_demo"
    )


CONTENT = {
    "street-scenes-demo": _street_scenes,
    "mnist-demo": _digits,
    "imdb-reviews-demo": _reviews,
    "stereo-streets-demo": _stereo_streets,
    "car-crops-demo": _car_crops,
    "street-faces-demo": _faces,
}


def _has_commits(dataset: Dataset) -> bool:
    head = versioning_selectors.revision_resolve(dataset=dataset, revision=dataset.default_branch)
    return head.commit is not None


class Command(BaseCommand):
    help = (
        "Load a small demo catalog (user 'demo'): labelled images over two commits and a branch, digits, reviews, "
        "a fusion dataset with two cameras, a sheet with an image column, and a dataset a curator hid; running it "
        "again changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        user = services.user_get_or_create(username="demo")
        workspace = services.personal_workspace(user=user)
        created = filled = 0
        for spec in DEMO_DATASETS:
            with transaction.atomic():
                dataset, is_new = self._dataset(workspace, user, spec)
                created += is_new
                build = CONTENT.get(spec["name"])
                if build is not None and not _has_commits(dataset):
                    build(dataset, user)
                    filled += 1
        self.stdout.write(
            f"demo catalog ready: {created} datasets created, {len(DEMO_DATASETS) - created} present, "
            f"{filled} filled with content"
        )

    def _dataset(self, workspace: Workspace, user: User, spec: dict[str, Any]) -> tuple[Dataset, bool]:
        existing = Dataset.objects.filter(workspace=workspace, name=spec["name"]).first()
        if existing is not None:
            return existing, False
        return services.dataset_create(workspace=workspace, creator=user, is_public=True, **spec), True
