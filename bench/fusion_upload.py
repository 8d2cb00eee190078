"""Upload of a fusion dataset through the official tensorbay SDK, beside a normal dataset of the same files.

    python bench/fusion_upload.py [--frames 1000] [--sensors 4] [--jobs 4]

It drops and recreates the MariaDB database ``BENCH_DATABASE_URL`` names (default
``mysql://root@127.0.0.1:3306/datasethub_bench_fusion``), migrates it, starts the hub under gunicorn over TLS
(as the acceptance tests do) and uploads with ``gas.upload_dataset(..., jobs=--jobs)``: first a fusion
dataset of ``--frames`` frames with one small file per sensor, then a normal dataset holding the same
number of files, then the fusion upload again with ``skip_uploaded_files=True``. It prints seconds and the
requests the SDK sent (API calls and storage uploads) per frame, and ``RATIO fusion_vs_normal=<x>`` (seconds of
the fusion upload over the normal one's). It prints figures; nothing is a pass or fail.
"""

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/datasethub_bench_fusion")
SENSOR_KINDS = ("CAMERA", "LIDAR", "RADAR", "FISHEYE_CAMERA")

sys.path.insert(0, str(ROOT))
os.environ.update({"DJANGO_SETTINGS_MODULE": "project.settings", "DATABASE_URL": DATABASE_URL})


def recreate_database() -> None:
    """Drop and create the bench database, so every run starts from the same rows."""
    import MySQLdb

    url = urlsplit(DATABASE_URL)
    name = url.path.lstrip("/")
    connection = MySQLdb.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root")
    cursor = connection.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    connection.close()


class RequestCounter:
    """Counts what the SDK sends, by kind: calls to the API, uploads to storage."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    def install(self) -> None:
        import requests

        send = requests.Session.send
        counts = self.counts

        def counted(session: requests.Session, request: requests.PreparedRequest, **kwargs: object) -> object:
            counts["api" if "/tensorbay-open-api/" in (request.url or "") else "storage"] += 1
            return send(session, request, **kwargs)

        requests.Session.send = counted  # type: ignore[method-assign,assignment]

    def take(self) -> collections.Counter[str]:
        taken = collections.Counter(self.counts)
        self.counts.clear()
        return taken


def build_fusion(directory: Path, frames: int, sensors: int) -> object:
    from tensorbay.dataset import Data, Frame, FusionDataset
    from tensorbay.sensor import Camera, FisheyeCamera, Lidar, Radar
    from ulid import from_timestamp

    kinds = {"CAMERA": Camera, "LIDAR": Lidar, "RADAR": Radar, "FISHEYE_CAMERA": FisheyeCamera}
    dataset = FusionDataset("fusion")
    segment = dataset.create_segment("seq1")
    names = [f"{SENSOR_KINDS[index % 4]}_{index}" for index in range(sensors)]
    for index, name in enumerate(names):
        sensor = kinds[SENSOR_KINDS[index % 4]](name)
        sensor.set_extrinsics(translation=(index, 0, 1), rotation=(1, 0, 0, 0))
        segment.sensors.add(sensor)
    for number in range(frames):
        frame = Frame(from_timestamp(1_000_000 + number))
        for name in names:
            path = directory / name / f"{number:06d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{name}-{number}".encode() + os.urandom(32))
            frame[name] = Data(str(path))
        segment.append(frame)
    return dataset


def build_normal(directory: Path) -> object:
    from tensorbay.dataset import Data, Dataset

    dataset = Dataset("normal")
    segment = dataset.create_segment("seq1")
    for path in sorted(directory.rglob("*.bin")):
        segment.append(Data(str(path), target_remote_path=f"{path.parent.name}-{path.name}"))
    return dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--sensors", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=4)
    options = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tensorbay import GAS
    from tensorbay.client import config as sdk_config

    from datasets import services
    from tests.acceptance.conftest import running_hub

    sdk_config.timeout = 120
    user = services.user_get_or_create(username="bench")
    workspace = services.personal_workspace(user=user)
    key = services.access_key_create(user=user, workspace=workspace)[1]
    counter = RequestCounter()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        fusion = build_fusion(directory / "files", options.frames, options.sensors)
        normal = build_normal(directory / "files")
        env = {"DATABASE_URL": DATABASE_URL, "DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING"}
        with running_hub(directory / "hub", env=env) as hub:
            os.environ["REQUESTS_CA_BUNDLE"] = str(hub.ca_bundle)
            gas = GAS(key, hub.url)
            counter.install()
            figures = {}
            for label, dataset, is_fusion, skip in (
                ("fusion", fusion, True, False),
                ("normal", normal, False, False),
                ("fusion_resume", fusion, True, True),
            ):
                if not skip:
                    gas.create_dataset(dataset.name, is_fusion=is_fusion)
                gas.get_dataset(dataset.name, is_fusion=is_fusion).create_draft(label)
                counter.take()
                started = time.perf_counter()
                gas.upload_dataset(dataset, jobs=options.jobs, skip_uploaded_files=skip)
                seconds = time.perf_counter() - started
                counts = counter.take()
                figures[label] = seconds
                print(
                    f"{label}: {seconds:.1f} s for {options.frames} frames x {options.sensors} sensors; "
                    f"requests per frame: api {counts['api'] / options.frames:.2f}, "
                    f"storage {counts['storage'] / options.frames:.2f}"
                )
    print(f"RATIO fusion_vs_normal={figures['fusion'] / figures['normal']:.2f}")


if __name__ == "__main__":
    main()
