"""What a job needs in the workspace: the data asset, the compute and the code snapshot.

Each ``ensure_*`` asks first and creates only what is missing, so a second
``fit`` of the same dataset with the same library version creates nothing and
uploads nothing (code assets are looked up by content hash by azure-ai-ml);
what was found once is remembered in :mod:`.known` and not asked for again.
"""

from __future__ import annotations

import ast
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudml_edu.backends.azureml import known
from cloudml_edu.backends.azureml.connection import owned_name, owner_tags, settings, translate

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

    from cloudml_edu.datasets import Dataset
    from cloudml_edu.workspace import Workspace

__all__ = [
    "ENTRY_MODULES",
    "cluster_entity",
    "code_snapshot",
    "data_asset_name",
    "data_entity",
    "dataset_location",
    "ensure_compute",
    "ensure_data",
    "ensure_environment",
    "job_environment",
    "upload_folder",
]

#: The modules jobs run; the snapshot holds them and every cloudml_edu module they import.
ENTRY_MODULES = (
    "cloudml_edu.training.__main__",
    "cloudml_edu.training.steps",
    "cloudml_edu.training._model_code",
)
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # .../cloudml_edu


def dataset_location(dataset: Dataset) -> tuple[str, bool]:
    """Where the dataset's files are, and whether Azure ML can read them there (a blob URL).

    A version in a blob container is used in place (``<account>/<container>/<prefix>``,
    holding ``_manifest.json`` and the files or Parquet shards); anything on this
    machine is uploaded by azure-ai-ml to the workspace's default datastore, from the
    staged :func:`upload_folder` (never from this folder itself).
    """
    source = dataset.source
    stored = source.stored_at()
    if stored is not None:
        store, prefix = stored
        local = store.local_path(prefix)
        return (str(local), False) if local is not None else (f"{store.url}/{prefix}", True)
    folder = source.local_folder()
    if folder is not None:
        return str(folder), False
    return source.location, source.location.startswith("https://")


def data_asset_name(ws: Workspace, dataset: Dataset) -> tuple[str, str]:
    """(name, version) of the dataset's data asset: owner-prefixed, versioned by content."""
    digest = hashlib.sha256(dataset.manifest.model_dump_json().encode()).hexdigest()[:10]
    version = f"{dataset.manifest.version or '1'}-{digest}"
    return owned_name(ws, dataset.name, limit=200), version


def data_entity(ws: Workspace, dataset: Dataset) -> Any:
    """The dataset's ``uri_folder`` data asset (not created: ``ensure_data`` does that).

    Its path is the blob URL of a version Azure ML reads in place, else the staged
    :func:`upload_folder`: never a folder of the user's or the store's own.
    """
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Data

    name, version = data_asset_name(ws, dataset)
    path, in_place = dataset_location(dataset)
    if not in_place:
        path = str(upload_folder(ws, dataset))
    return Data(
        name=name,
        version=version,
        type=AssetTypes.URI_FOLDER,
        path=path,
        description=f"cloudml-edu dataset {dataset.name} ({len(dataset)} images)",
        tags=owner_tags(ws, **{"cloudml.dataset": dataset.name}),
    )


def upload_folder(ws: Workspace, dataset: Dataset) -> Path:
    """The folder azure-ai-ml uploads for a dataset on this machine: the manifest's records only.

    azure-ai-ml uploads a local ``uri_folder`` by walking it and following links, so
    a dataset's own folder is never handed over: a link planted beside the images
    (to ``~/.ssh`` or ``/etc/passwd``) would be sent with them.  Every record is first
    resolved inside its folder (the source's ``local_file``: in a stored version a
    link out raises :class:`~cloudml_edu.errors.UnsafePathError` naming the dataset,
    version and record, before anything is written or sent); then each record's
    bytes, checked against the manifest's MD5, are written as
    ``<workspace>/azureml/data/<name>/<version>/files/<label>/<file>`` beside
    ``_manifest.json`` (the layout the training job reads).  Written once per asset
    version (a hash of the manifest), so a second fit copies nothing.
    """
    from cloudml_edu.manifest import MANIFEST_NAME

    name, version = data_asset_name(ws, dataset)
    source, records = dataset.source, dataset.manifest.records

    def fill(staging: Path) -> None:
        for record in records:
            source.local_file(record)  # refuses a link out before any image is read
        for record, data in source.iter_bytes(records):
            target = staging / "files" / record.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        manifest = dataset.manifest.model_copy(update={"layout": "files", "shards": ()})
        (staging / MANIFEST_NAME).write_text(manifest.model_dump_json(), encoding="utf-8")

    return _written_once(_staged_folder(ws, name, version), fill)


def _staged_folder(ws: Workspace, name: str, version: str) -> Path:
    """Where :func:`upload_folder` stages a data asset version's files."""
    return ws.root / "azureml" / "data" / name / version


def _written_once(folder: Path, fill: Callable[[Path], None]) -> Path:
    """``folder``, unless it exists already, filled by ``fill`` in a private temporary
    folder beside it and renamed into place: no reader sees half of it, and of two
    processes writing the same folder one wins and the other's copy is dropped."""
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        fill(staging)
        staging.rename(folder)
    except OSError:
        if not folder.is_dir():  # not another process that wrote the same folder first
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def ensure_data(ws: Workspace, client: MLClient, dataset: Dataset, *, trust_known: bool) -> str:
    """The ``azureml:<name>:<version>`` id of the dataset's uri_folder asset, made when missing.

    With ``trust_known``, a version this workspace folder has seen is not asked for again.
    """
    from azure.core.exceptions import ResourceNotFoundError

    name, version = data_asset_name(ws, dataset)
    asset_id = f"azureml:{name}:{version}"
    if trust_known and known.is_known(ws, "data", asset_id):
        return asset_id
    try:
        client.data.get(name, version=version)
    except ResourceNotFoundError:
        try:
            client.data.create_or_update(data_entity(ws, dataset))
        except Exception as exc:
            raise translate(exc, action=f"create data asset {name}", ws=ws) from exc
        # uploaded: the staged copy served its purpose (the asset is the copy now)
        shutil.rmtree(_staged_folder(ws, name, version), ignore_errors=True)
    except Exception as exc:
        raise translate(exc, action=f"look up data asset {name}", ws=ws) from exc
    known.remember(ws, "data", asset_id)
    return asset_id


def cluster_entity(ws: Workspace) -> Any:
    """The AmlCompute cluster of ``[azure_ml]``: min 0 nodes, scales down when idle."""
    from azure.ai.ml.entities import AmlCompute

    cfg = settings(ws)
    return AmlCompute(
        name=cfg.compute,
        size=cfg.vm_size,
        min_instances=0,
        max_instances=cfg.max_instances,
        idle_time_before_scale_down=cfg.idle_seconds,
        tags=owner_tags(ws),
    )


def ensure_compute(
    ws: Workspace, client: MLClient, *, trust_known: bool, timeout: float = 600.0
) -> str | None:
    """The cluster's name (created with min 0 nodes when missing), or None for serverless.

    With ``trust_known``, a cluster this workspace folder has seen is not asked for again.
    """
    from azure.core.exceptions import ResourceNotFoundError

    cfg = settings(ws)
    if cfg.serverless:
        return None
    if trust_known and known.is_known(ws, "compute", cfg.compute):
        return cfg.compute
    try:
        client.compute.get(cfg.compute)
    except ResourceNotFoundError:
        try:
            client.compute.begin_create_or_update(cluster_entity(ws)).result(timeout=timeout)
        except Exception as exc:
            raise translate(exc, action=f"create compute cluster {cfg.compute}", ws=ws) from exc
    except Exception as exc:
        raise translate(exc, action=f"look up compute {cfg.compute}", ws=ws) from exc
    known.remember(ws, "compute", cfg.compute)
    return cfg.compute


def job_environment(ws: Workspace) -> str:
    """The environment jobs run on: ``[azure_ml] environment``, else the library's own
    (``azureml:cloudml-edu-job:<digest>``)."""
    from cloudml_edu.backends.azureml.environment import environment_id

    return settings(ws).environment or environment_id()


def ensure_environment(ws: Workspace, client: MLClient, *, trust_known: bool) -> str:
    """The job environment's id, registered first when it is the library's own and missing.

    Registering is one request; Azure ML builds the image when the first job uses it
    (minutes, once per digest), and every later job reuses the image.
    """
    from azure.ai.ml.entities import Environment
    from azure.core.exceptions import ResourceNotFoundError

    from cloudml_edu.backends.azureml.environment import JOB_ENVIRONMENT, conda_file

    found = job_environment(ws)
    if settings(ws).environment or (trust_known and known.is_known(ws, "environment", found)):
        return found
    spec = JOB_ENVIRONMENT
    try:
        client.environments.get(spec.name, version=spec.version)
    except ResourceNotFoundError:
        entity = Environment(
            name=spec.name,
            version=spec.version,
            image=spec.image,
            conda_file=conda_file(spec),
            description="cloudml-edu job environment: Python "
            f"{spec.python}, {len(spec.pins)} exact pins",
            tags=owner_tags(ws),
        )
        try:
            client.environments.create_or_update(entity)
        except Exception as exc:
            raise translate(exc, action=f"register environment {spec.name}", ws=ws) from exc
    except Exception as exc:
        raise translate(exc, action=f"look up environment {spec.name}", ws=ws) from exc
    known.remember(ws, "environment", found)
    return found


def code_snapshot(ws: Workspace) -> Path:
    """A folder with only the code jobs run: ``cloudml_edu/training`` and what it imports.

    Named by library version and content hash and written once, so an unchanged
    snapshot has the same hash and azure-ai-ml uploads nothing the second time.
    """
    from cloudml_edu._version import __version__

    files = sorted(_needed_files())
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.encode() + b"\0" + (_PACKAGE_ROOT / rel).read_bytes())

    def fill(staging: Path) -> None:
        for rel in files:
            target = staging / "cloudml_edu" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_PACKAGE_ROOT / rel, target)

    folder = ws.root / "azureml" / "code" / f"{__version__}-{digest.hexdigest()[:12]}"
    return _written_once(folder, fill)


def _needed_files() -> set[str]:
    """Paths (relative to the package) of the entry modules, the files a saved model ships
    (:data:`cloudml_edu.training.pyfunc.SHIPPED`), and every module they import."""
    from cloudml_edu.training.pyfunc import SHIPPED

    shipped = ["cloudml_edu." + rel.removesuffix(".py").replace("/", ".") for rel in SHIPPED]
    todo = [*ENTRY_MODULES, *shipped]
    seen: set[str] = set()
    files: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(module)
        if path is None:
            continue
        files.add(path.relative_to(_PACKAGE_ROOT).as_posix())
        parts = module.split(".")
        for i in range(1, len(parts)):  # parent packages' __init__
            todo.append(".".join(parts[:i]))
        todo.extend(_imports(path, module))
    return files


def _module_file(module: str) -> Path | None:
    rel = Path(*module.split(".")[1:])
    for candidate in (_PACKAGE_ROOT / rel / "__init__.py", _PACKAGE_ROOT / f"{rel}.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> list[str]:
    """cloudml_edu modules imported by ``path`` (anywhere but under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for other in node.orelse:
                visit(other)
            return
        if isinstance(node, ast.Import):
            found.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.append(base)
            found.extend(f"{base}.{a.name}" for a in node.names)
        for inner in ast.iter_child_nodes(node):
            visit(inner)

    visit(tree)
    return [m for m in found if m == "cloudml_edu" or m.startswith("cloudml_edu.")]
