"""Which runs trained on which stored dataset version: a tag on each run's MLflow run.

A version a run used must stay as it was (see :func:`cloudml_edu.datasets.versions.delete_version`
and the upload's refusal to change a complete version), so a run started on a stored
version is tagged with the version's key prefix and store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudml_edu.datasets.core import Dataset
    from cloudml_edu.workspace import Workspace

__all__ = ["note_dataset", "runs_using"]

_VERSION_TAG = "cloudml.dataset_version"
_STORE_TAG = "cloudml.dataset_store"


def note_dataset(ws: Workspace, run_id: str, dataset: Dataset) -> None:
    """Tag run ``run_id`` with the stored version ``dataset`` was read from (if it is one)."""
    stored = dataset.source.stored_at()
    if stored is None:
        return  # a local folder: no stored version to keep
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=ws.ensure_tracking_store())
    client.set_tag(run_id, _VERSION_TAG, stored[1])
    client.set_tag(run_id, _STORE_TAG, stored[0].url)


def runs_using(ws: Workspace, prefix: str) -> list[str]:
    """Ids of the runs (any owner's) that trained on the version at ``prefix`` of the
    workspace's store, newest first."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=ws.ensure_tracking_store())
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    quoted = prefix.replace("'", "\\'")
    found = client.search_runs(
        experiments,
        filter_string=f"tags.`{_VERSION_TAG}` = '{quoted}'",
        order_by=["attributes.start_time DESC"],
        max_results=1000,
    )
    return [r.info.run_id for r in found if r.data.tags.get(_STORE_TAG) == ws.store.url]
