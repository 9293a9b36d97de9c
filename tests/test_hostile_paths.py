"""Property: a manifest, a store folder or a record holding a hostile path (traversal,
absolute, NUL, Unicode look-alikes, links out) never makes cloudml-edu read or write
outside its roots; every refusal is an UnsafePathError naming where the path came from.

The bait: a file outside the workspace whose MD5 is put in the hostile record, so a
read through the path would verify and succeed; and a folder next to the workspace
that must stay empty, so a write through it would show.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import redirect_stderr
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudml_edu import CloudMLError, Dataset, UnsafePathError, Workspace
from cloudml_edu._paths import resolve_under, unsafe_reason
from cloudml_edu.backends.local.sdk import SdkBackend
from cloudml_edu.datasets import download_version
from cloudml_edu.datasets.core import open_dataset
from cloudml_edu.datasets.sources import FolderSource
from cloudml_edu.manifest import ImageRecord, Manifest
from cloudml_edu.options import TrainOptions
from cloudml_edu.training.__main__ import main as training_main

PREFIX = "alice/pets/1"
BAIT = b"\x89PNG outside the workspace: must never be read"

# ---- hostile paths ------------------------------------------------------------------------
_names = st.text(alphabet="abcxyz0123456789_-.", min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..")
)
_escapes = st.sampled_from(
    [
        "../",
        "../../",
        "a/../../",
        "/",
        "//",
        "/tmp/",
        "C:/",
        "\\..\\",
        "..\\",
        "./",
        "a//",
        "\u2025/",  # two dot leader: NFKC ".."
        "\uff0e\uff0e/",  # fullwidth full stops
        "..\uff0f",  # fullwidth solidus
        "..\u2215",  # division slash
        "\u2024\u2024/",  # one dot leaders
        "a\x00/",
        "a\x00../",
        "\n../",
    ]
)
hostile = st.builds(lambda prefix, name, tail: f"{prefix}{name}{tail}", _escapes, _names,
                    st.sampled_from(["", ".png", "/x.png", "\x00.png"]))  # fmt: skip


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path, Path]]:
    """A workspace with one uploaded version; the bait file and a must-stay-empty folder
    outside it."""
    from PIL import Image

    base = tmp_path_factory.mktemp("hostile")
    images = base / "pets"
    for label in ("cat", "dog"):
        (images / label).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (8, 8), 40 * i + (label == "dog") * 100).save(
                images / label / f"{i}.png"
            )
    ws = Workspace.local(base / "ws", owner="alice")
    Dataset.from_folder(images).register(ws, name="pets", version="1")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(BAIT)
    yield ws, outside, base


def _manifest_file(ws: Workspace) -> Path:
    path = ws.store.local_path(f"{PREFIX}/_manifest.json")
    assert path is not None
    return path


def _everything_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _attempts(ws: Workspace, dest: Path) -> list[BaseException | int | str]:
    """Every entry point that reads a stored version: each must refuse."""
    outcomes: list[BaseException | int | str] = []
    for attempt in (
        lambda: open_dataset(ws.store, PREFIX),
        lambda: list(open_dataset(ws.store, PREFIX).iter_bytes()),
        lambda: download_version(ws, "pets", dest, version="1", progress=False),
        lambda: Dataset.load(ws, "pets"),
    ):
        try:
            attempt()
        except CloudMLError as exc:
            outcomes.append(exc)
        else:
            outcomes.append(0)
    version_dir = ws.store.local_path(PREFIX)
    with redirect_stderr(io.StringIO()) as err:
        outcomes.append(training_main(["--data", str(version_dir), "--no-model"]))
    outcomes.append(err.getvalue())
    return outcomes


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=hostile, field=st.sampled_from(["path", "label", "shard"]))
def test_a_hostile_manifest_is_refused_everywhere(
    version: tuple[Workspace, Path, Path], path: str, field: str
) -> None:
    ws, _, base = version
    manifest_file = _manifest_file(ws)
    original = manifest_file.read_bytes()
    data = json.loads(original)
    if field == "shard":
        data["shards"] = [path]
    else:
        data["records"][1][field] = path
        data["records"][1]["md5"] = hashlib.md5(BAIT).hexdigest()
    manifest_file.write_text(json.dumps(data))
    before = _everything_under(base)
    try:
        with tempfile.TemporaryDirectory(dir=base) as tmp:
            outcomes = _attempts(ws, Path(tmp) / "dest")
    finally:
        manifest_file.write_bytes(original)
    for outcome in outcomes[:4]:
        assert isinstance(outcome, UnsafePathError), outcome
        assert "dataset 'pets' version 1" in str(outcome) or "catalog" in str(outcome)
    assert outcomes[4] == 2  # the training job: bad input, nothing trained
    assert "must stay inside the folder" in str(outcomes[5])
    assert _everything_under(base) == before  # nothing written anywhere, the bait untouched


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=hostile)
def test_defence_in_depth_without_a_validated_manifest(
    version: tuple[Workspace, Path, Path], path: str
) -> None:
    """A manifest built without validation (``model_construct``) still cannot lead a read
    (confined folder) or a write (the sdk job's materialized input) outside."""
    ws, _, base = version
    record = ImageRecord.model_construct(
        path=path, label="cat", bytes=len(BAIT), md5=hashlib.md5(BAIT).hexdigest(),
        width=8, height=8, mode="L",
    )  # fmt: skip
    manifest = Manifest.model_construct(
        name="pets", version="1", owner="alice", layout="files", records=(record,), shards=()
    )
    folder = ws.store.local_path(f"{PREFIX}/files")
    assert folder is not None
    with pytest.raises(UnsafePathError):
        list(FolderSource(folder).iter_bytes([record]))

    class Bytes:  # a remote source: the sdk job materializes its images under its workdir
        location = "memory"

        def local_folder(self) -> None:
            return None

        def iter_bytes(self, records: object) -> Iterator[tuple[ImageRecord, bytes]]:
            yield record, BAIT

    backend = SdkBackend(ws, TrainOptions(), progress=False)
    before = _everything_under(base)
    with tempfile.TemporaryDirectory(dir=base) as tmp, pytest.raises(UnsafePathError):
        backend._job_input(Dataset(manifest, Bytes()), Path(tmp))  # type: ignore[arg-type]
    assert _everything_under(base) == before


@pytest.mark.parametrize("link", ["file", "class folder"])
def test_a_link_out_of_the_store_is_refused(
    version: tuple[Workspace, Path, Path], link: str
) -> None:
    """A version folder whose image (or class folder) is a link to a file outside the
    store: the record is valid text, the link is what leads out."""
    ws, outside, base = version
    files = ws.store.local_path(f"{PREFIX}/files")
    assert files is not None
    moved = base / "moved"
    target, placed = (
        (files / "cat" / "0.png", outside / "secret.png")
        if link == "file"
        else (files / "cat", outside)
    )
    shutil.move(target, moved)
    manifest_file = _manifest_file(ws)
    original = manifest_file.read_bytes()
    data = json.loads(original)
    for record in data["records"]:
        if record["path"] == "cat/0.png" or (link != "file" and record["label"] == "cat"):
            record["md5"], record["bytes"] = hashlib.md5(BAIT).hexdigest(), len(BAIT)
    manifest_file.write_text(json.dumps(data))
    if link == "class folder":
        (outside / "0.png").write_bytes(BAIT)
    target.symlink_to(placed)
    try:
        with tempfile.TemporaryDirectory(dir=base) as tmp:
            outcomes = _attempts(ws, Path(tmp) / "dest")
    finally:
        target.unlink()
        shutil.move(moved, target)
        manifest_file.write_bytes(original)
        (outside / "0.png").unlink(missing_ok=True)
    # the manifest is fine, so opening it works; every read through the link is refused
    assert all(isinstance(o, UnsafePathError) for o in outcomes[1:3]), outcomes
    assert outcomes[4] == 2 and "leads outside" in str(outcomes[5])


def test_resolve_under_keeps_plain_paths_and_names_the_source(tmp_path: Path) -> None:
    assert resolve_under(tmp_path, "cat/0.png", source="x") == tmp_path.resolve() / "cat/0.png"
    assert unsafe_reason("cat/ﬁle 1.png") is None  # a ligature is a letter, not a separator
    with pytest.raises(UnsafePathError, match=r"dataset 'd' version 2, record 7: path '\.\./x'"):
        resolve_under(tmp_path, "../x", source="dataset 'd' version 2, record 7")


def test_a_catalog_row_with_a_hostile_prefix_is_refused(workspace: Workspace) -> None:
    import sqlite3

    with sqlite3.connect(workspace.root / "catalog.db") as db:
        workspace.catalog  # noqa: B018 - creates the table
        db.execute(
            "INSERT INTO datasets VALUES (?,?,?,?,?,?,?,?,?,?)",
            (f"hive_metastore.{workspace.schema}.pets", "1", "file:///", "../../etc", "files", 1, 1, 1,
             "f", "2026-01-01T00:00:00"),
        )  # fmt: skip
    with pytest.raises(
        UnsafePathError, match=f"catalog row hive_metastore.{workspace.schema}.pets"
    ):
        Dataset.load(workspace, "pets")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=hostile)
def test_run_and_endpoint_records_cannot_name_files_outside(
    version: tuple[Workspace, Path, Path], path: str
) -> None:
    """A run record's log path and id, and an endpoint record's name, are read only inside
    the workspace: the sdk backend reads a run's log from its own run folder."""
    from cloudml_edu.backends.local.sdk import _tail
    from cloudml_edu.endpoint import _record_path
    from cloudml_edu.run import JobRecord, TrainingRun

    ws, outside, _ = version
    bait = outside / "secret.png"
    for run_id, log_path in (("a" * 32, str(bait)), (path, str(bait)), ("b" * 32, path)):
        run = TrainingRun(id=run_id, backend="sdk", job=JobRecord(command=[], log_path=log_path))
        assert "must never be read" not in _tail(run, ws.runs_dir)
    with pytest.raises(UnsafePathError):
        _record_path(ws, f"../{path}")
