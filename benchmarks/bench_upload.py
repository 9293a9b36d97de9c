"""Dataset upload to Azurite: ``Dataset.upload`` against adlfs and a sequential ``upload_blob`` loop.

The data: 2,000 small PNGs (~600 B) and 200 JPEGs (~200 KB), ~41 MB in all.  One
Azurite (fresh data folder) serves every run; each round runs every method once,
in alternation, into a fresh container, and the table shows medians:

* ``Dataset.upload`` "files" layout (one blob per image, listing + verify + manifest);
* ``adlfs`` ``put(lpath, rpath, recursive=True)`` (fsspec's Azure filesystem);
* a sequential ``ContainerClient.upload_blob`` loop;
* ``Dataset.upload`` "parquet" layout (packed shards);
* re-sync of the unchanged "files" version (nothing to send).

Then the peak RSS (``ru_maxrss``) of a subprocess uploading ~200 MB, per layout.
Exits 1 when a target is missed.

    python benchmarks/bench_upload.py [--rounds 3] [--skip-memory] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("CLOUDML_NO_PROGRESS", "1")

from cloudml_edu import Dataset
from cloudml_edu.datasets import upload_dataset
from cloudml_edu.manifest import ImageRecord
from cloudml_edu.storage.blob import BlobStore
from cloudml_edu.testing.azurite import Azurite

sys.path.insert(0, str(Path(__file__).parent))
from _util import table

TARGETS = {"adlfs / files": 1.6, "adlfs / parquet": 10.0, "resync / files": 0.15, "peak MB": 300.0}


def make_images(root: Path, *, pngs: int = 2000, jpegs: int = 200, seed: int = 0) -> Path:
    """Random-noise PNGs (23x23 grey, ~620 B) and JPEGs (600x600, ~200 KB) in 10 classes."""
    from PIL import Image

    rng = random.Random(seed)
    for i in range(pngs + jpegs):
        folder = root / f"class{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        if i < pngs:
            image = Image.new("L", (23, 23))
            image.putdata([rng.randrange(256) for _ in range(23 * 23)])
            image.save(folder / f"p{i:05d}.png")
        else:
            rgb = Image.frombytes("RGB", (600, 600), rng.randbytes(600 * 600 * 3))
            rgb.save(folder / f"j{i:05d}.jpg", quality=70)
    return root


@dataclass(frozen=True)
class Sample:
    """One measured run: wall seconds, this process's CPU seconds, Azurite's CPU seconds."""

    wall: float
    client_cpu: float
    server_cpu: float


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _timed(emulator: Azurite, fn: Callable[[], object]) -> Sample:
    assert emulator._process is not None
    pid = emulator._process.pid
    server, client, started = _cpu_of(pid), time.process_time(), time.perf_counter()
    fn()
    return Sample(
        wall=time.perf_counter() - started,
        client_cpu=time.process_time() - client,
        server_cpu=_cpu_of(pid) - server,
    )


def _ours(
    emulator: Azurite, dataset: Dataset, layout: str, *, concurrency: int, resync: bool = False
) -> Sample:
    store = BlobStore(
        connection_string=emulator.connection_string, container="bench", max_concurrency=concurrency
    )
    store.ensure_container()
    manifest = dataset.manifest.model_copy(update={"owner": "b", "version": "1", "layout": layout})
    warm = dataset.manifest.model_copy(
        update={"owner": "w", "version": "1", "layout": layout, "records": dataset.records[:50]}
    )
    upload_dataset(dataset, warm, store, progress=False)
    sample = _timed(emulator, lambda: upload_dataset(dataset, manifest, store, progress=False))
    if resync:
        sample = _timed(emulator, lambda: upload_dataset(dataset, manifest, store, progress=False))
    store.close()
    return sample


def _adlfs(emulator: Azurite, folder: Path, warm: Path) -> Sample:
    import adlfs

    fs = adlfs.AzureBlobFileSystem(connection_string=emulator.connection_string)
    fs.mkdir("bench")
    fs.put(str(warm), "bench/warm", recursive=True)
    sample = _timed(emulator, lambda: fs.put(str(folder), "bench/data", recursive=True))
    assert len(fs.find("bench/data")) == sum(1 for p in folder.rglob("*") if p.is_file())
    return sample


def _sequential(emulator: Azurite, dataset: Dataset, folder: Path) -> Sample:
    from azure.storage.blob import ContainerClient

    with ContainerClient.from_connection_string(emulator.connection_string, "bench") as client:
        client.create_container()

        def upload(records: Sequence[ImageRecord], prefix: str) -> None:
            for record in records:
                with (folder / record.path).open("rb") as data:
                    client.upload_blob(f"{prefix}/{record.path}", data, overwrite=True)

        upload(dataset.records[:50], "warm")
        return _timed(emulator, lambda: upload(dataset.records, "data"))


def run_rounds(folder: Path, rounds: int, *, concurrency: int) -> dict[str, list[Sample]]:
    """Every method once a round, each on a fresh Azurite (it slows down as blobs accumulate),
    after a small warm-up upload on that Azurite (imports, connections)."""
    dataset = Dataset.from_folder(folder, name="bench", progress=False)
    warm = folder.parent / "warm"
    for record in dataset.records[:50]:
        (warm / record.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / record.path, warm / record.path)
    methods: dict[str, Callable[[Azurite], Sample]] = {
        "files": lambda emulator: _ours(emulator, dataset, "files", concurrency=concurrency),
        "adlfs": lambda emulator: _adlfs(emulator, folder, warm),
        "parquet": lambda emulator: _ours(emulator, dataset, "parquet", concurrency=concurrency),
        "resync": lambda emulator: _ours(
            emulator, dataset, "files", concurrency=concurrency, resync=True
        ),
        "sequential": lambda emulator: _sequential(emulator, dataset, folder),
    }
    times: dict[str, list[Sample]] = {key: [] for key in methods}
    for n in range(rounds):
        for key, method in methods.items():
            with Azurite() as emulator:
                times[key].append(method(emulator))
        print(
            f"round {n + 1}: " + ", ".join(f"{k} {v[-1].wall:.2f}s" for k, v in times.items()),
            flush=True,
        )
    return times


_MEMORY_SCRIPT = """
import sys
from cloudml_edu import Dataset
from cloudml_edu.manifest import ImageRecord
from cloudml_edu.storage.blob import BlobStore
from cloudml_edu.datasets import upload_dataset
conn, container, folder, layout = sys.argv[1:]
store = BlobStore(connection_string=conn, container=container)
dataset = Dataset.from_folder(folder, name="big", progress=False)
manifest = dataset.manifest.model_copy(update={"owner": "m", "version": layout, "layout": layout})
upload_dataset(dataset, manifest, store, progress=False)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked parent across exec.
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(int(status["VmHWM"].split()[0]) / 1024)
"""


def peak_memory(emulator: Azurite, folder: Path, layout: str) -> float:
    """Peak RSS in MB of a fresh process that reads and uploads ``folder``."""
    env = {**os.environ, "CLOUDML_NO_PROGRESS": "1"}
    command = [sys.executable, "-c", _MEMORY_SCRIPT, emulator.connection_string, f"mem{layout}"]
    out = subprocess.run(
        [*command, str(folder), layout], check=True, capture_output=True, text=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def make_big(root: Path, megabytes: int = 200) -> Path:
    """~``megabytes`` of ~1 MB JPEGs (20 distinct images, copied under distinct names)."""
    from PIL import Image

    rng = random.Random(1)
    sources = []
    for i in range(20):
        path = root / "src" / f"{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.frombytes("RGB", (1000, 1000), rng.randbytes(3_000_000)).save(path, quality=85)
        sources.append(path)
    size = sources[0].stat().st_size
    for i in range(megabytes * 1024 * 1024 // size):
        folder = root / "big" / f"class{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sources[i % len(sources)], folder / f"{i:04d}.jpg")
    return root / "big"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="max_concurrency of our store (config default 32)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        folder = make_images(Path(tmp, "images"))
        total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        print(f"{len(list(folder.rglob('*.*')))} files, {total / 1e6:.1f} MB")
        samples = run_rounds(folder, args.rounds, concurrency=args.concurrency)
        times = {k: statistics.median(s.wall for s in v) for k, v in samples.items()}
        ratios = {
            "adlfs / files": times["adlfs"] / times["files"],
            "adlfs / parquet": times["adlfs"] / times["parquet"],
            "resync / files": times["resync"] / times["files"],
        }
        rows = [("method", "median s", "files/s", "MB/s", "client CPU s", "Azurite CPU s")]
        labels = {
            "files": "Dataset.upload, files layout",
            "parquet": "Dataset.upload, parquet layout",
            "resync": "re-sync, unchanged (files)",
            "adlfs": "adlfs put(recursive=True)",
            "sequential": "sequential upload_blob loop",
        }
        for key, label in labels.items():
            wall = times[key]
            client = statistics.median(s.client_cpu for s in samples[key])
            server = statistics.median(s.server_cpu for s in samples[key])
            rate, speed = f"{2200 / wall:.0f}", f"{total / 1e6 / wall:.1f}"
            rows.append((label, f"{wall:.2f}", rate, speed, f"{client:.2f}", f"{server:.2f}"))
        print(table(rows))
        results = dict(ratios)
        if not args.skip_memory:
            big = make_big(Path(tmp, "mem"))
            size = sum(p.stat().st_size for p in big.rglob("*.jpg")) / 1e6
            with Azurite() as emulator:
                peaks = {
                    layout: peak_memory(emulator, big, layout) for layout in ("files", "parquet")
                }
            print(
                f"peak RSS uploading {size:.0f} MB: "
                + ", ".join(f"{k} {v:.0f} MB" for k, v in peaks.items())
            )
            results["peak MB"] = max(peaks.values())
    check = [("target", "measured", "goal", "met")]
    missed = False
    for name, value in results.items():
        goal = TARGETS[name]
        met = value <= goal if name in {"resync / files", "peak MB"} else value >= goal
        missed |= not met
        sign = "<=" if name in {"resync / files", "peak MB"} else ">="
        check.append((name, f"{value:.2f}", f"{sign} {goal}", "yes" if met else "NO"))
    print(table(check))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
