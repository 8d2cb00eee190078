"""``manage.py seed_demo``: a small demo catalog, safe to run again."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from datasets import services
from datasets.models import Dataset

DEMO_DATASETS: list[dict[str, Any]] = [
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
]


class Command(BaseCommand):
    help = "Load a small demo catalog (user 'demo', public datasets); running it again changes nothing."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user = services.user_get_or_create(username="demo")
        workspace = services.personal_workspace(user=user)
        created = 0
        for spec in DEMO_DATASETS:
            if Dataset.objects.filter(workspace=workspace, name=spec["name"]).exists():
                continue
            services.dataset_create(workspace=workspace, creator=user, is_public=True, **spec)
            created += 1
        self.stdout.write(f"demo catalog ready: {created} datasets created, {len(DEMO_DATASETS) - created} present")
