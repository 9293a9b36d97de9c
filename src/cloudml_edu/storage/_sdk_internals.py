"""The two private parts of azure-storage-blob the blob store relies on, in one place.

* a client's ``PipelineClient`` (``ContainerClient._client._client``): the blob fast
  path sends prebuilt REST requests through it, so they keep the SDK's signing,
  retries and logging at half the CPU of ``upload_blob``;
* ``azure.storage.blob._shared.policies.StorageRetryPolicy``: the retry policy of
  :mod:`cloudml_edu.storage.retry` extends it, because it rewinds streamed bodies
  and switches to the secondary endpoint the way the SDK expects.

Neither is public API.  ``tests/storage/test_sdk_internals.py`` checks both against
the installed SDK, so an SDK release that renames them fails that test by name
rather than an upload somewhere deep inside; each accessor here fails the same way.
"""

from __future__ import annotations

from typing import Any

from cloudml_edu.errors import ConfigError

__all__ = ["pipeline_client", "storage_retry_policy"]


def _renamed(what: str, exc: BaseException) -> ConfigError:
    from azure.storage.blob import __version__ as sdk_version

    return ConfigError(
        f"azure-storage-blob {sdk_version} no longer has {what} ({exc}); cloudml-edu relies on "
        "it (see cloudml_edu/storage/_sdk_internals.py): install the azure-storage-blob "
        "version pinned in pyproject.toml"
    )


def pipeline_client(container_client: Any) -> Any:
    """The azure-core ``PipelineClient`` behind a ``ContainerClient`` (has ``send_request``)."""
    try:
        pipeline = container_client._client._client
        pipeline.send_request  # noqa: B018 - the attribute the fast path calls
    except AttributeError as exc:
        raise _renamed("ContainerClient._client._client.send_request", exc) from exc
    return pipeline


def storage_retry_policy() -> type[Any]:
    """The SDK's ``StorageRetryPolicy`` class (with ``configure_retries`` and ``increment``)."""
    try:
        from azure.storage.blob._shared.policies import StorageRetryPolicy
    except ImportError as exc:
        raise _renamed("azure.storage.blob._shared.policies.StorageRetryPolicy", exc) from exc
    missing = [m for m in ("configure_retries", "increment") if not hasattr(StorageRetryPolicy, m)]
    if missing:
        raise _renamed(f"StorageRetryPolicy.{missing[0]}", AttributeError(missing[0]))
    return StorageRetryPolicy
