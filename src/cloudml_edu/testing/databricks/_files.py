"""Workspace files of the fake: ``workspace/mkdirs`` and ``workspace/import``, kept on disk
under the fake's folder (the fake cluster sees them at ``/Workspace/...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudml_edu.testing._http import Reply, SentRequest, json_reply
from cloudml_edu.testing.databricks._routes import Routes, multipart

if TYPE_CHECKING:
    from cloudml_edu.testing.databricks import FakeDatabricks

__all__ = ["WorkspaceFilesService"]


class WorkspaceFilesService(Routes):
    """``/api/2.0/workspace/mkdirs`` and ``/api/2.0/workspace/import`` (multipart, as the SDK sends it)."""

    def __init__(self, fake: FakeDatabricks) -> None:
        super().__init__(fake)
        self.route("POST", r"/api/2\.0/workspace/mkdirs", self._mkdirs)
        self.route("POST", r"/api/2\.0/workspace/import", self._import)

    def _mkdirs(self, request: SentRequest) -> Reply:
        path = str((request.body or {}).get("path", ""))
        (self.fake.files_root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        return json_reply(200, {})

    def _import(self, request: SentRequest) -> Reply:
        form = multipart(request) or (request.body or {})
        path = str(form.get("path", ""))
        content = form.get("content", b"")
        data = content if isinstance(content, bytes) else str(content).encode()
        self.fake.uploads[path] = data
        target = self.fake.files_root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return json_reply(200, {})
