"""Blob storage of the fake workspace: code snapshots and data the SDK uploads, read back by jobs."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cloudml_edu.testing._http import Reply, SentRequest

if TYPE_CHECKING:
    from cloudml_edu.testing.azure_ml import FakeAzureML

__all__ = ["BlobService"]


class BlobService:
    """``<account>.blob.core.windows.net``: PUT/HEAD/GET of block blobs, list, metadata.

    Replies echo the real Content-MD5 and HEAD replies have empty bodies: without
    them azure-storage-blob retries for over a minute.
    """

    def __init__(self, fake: FakeAzureML) -> None:
        self.fake = fake

    def claims(self, request: SentRequest) -> bool:
        return request.host.endswith(".blob.core.windows.net")

    def answer(self, request: SentRequest) -> Reply:
        blobs, method, query = self.fake.blobs, request.method, request.query
        key = request.path.lstrip("/")
        if query.get("comp") == "list":
            return self._list(key, query.get("prefix", ""))
        if method == "PUT" and query.get("comp") == "metadata":
            return 200, {"ETag": '"1"', "Last-Modified": http_date()}, b""
        if method == "PUT" and query.get("restype") == "container":
            return 201, {}, b""
        if method == "PUT":
            blobs[key] = request.data
            md5 = base64.b64encode(hashlib.md5(request.data).digest()).decode()
            return 201, {"Content-MD5": md5, "ETag": '"1"', "Last-Modified": http_date()}, b""
        if key not in blobs:
            headers = {"x-ms-error-code": "BlobNotFound"}
            return 404, headers, b"" if method == "HEAD" else b"BlobNotFound"
        blob = blobs[key]
        headers = {
            "Content-Length": str(len(blob)),
            "Content-MD5": base64.b64encode(hashlib.md5(blob).digest()).decode(),
            "x-ms-blob-type": "BlockBlob",
            "ETag": '"1"',
            "Last-Modified": http_date(),
        }
        wanted = _range(request.headers, len(blob)) if method == "GET" else None
        if wanted is not None:  # a ranged read (downloads ask for the first chunk this way)
            start, end = wanted
            part = blob[start : end + 1]
            headers.update(
                {
                    "Content-Length": str(len(part)),
                    "Content-Range": f"bytes {start}-{end}/{len(blob)}",
                }
            )
            del headers["Content-MD5"]
            return 206, headers, part
        return 200, headers, b"" if method == "HEAD" else blob

    def _list(self, container_path: str, prefix: str) -> Reply:
        blobs = self.fake.blobs
        container = container_path.split("/", 1)[0]
        names = sorted(
            k.split("/", 1)[1]
            for k in blobs
            if k.startswith(container + "/") and k.split("/", 1)[1].startswith(prefix)
        )
        items = "".join(
            f"<Blob><Name>{n}</Name><Properties><Content-Length>"
            f"{len(blobs[container + '/' + n])}</Content-Length>"
            "<BlobType>BlockBlob</BlobType></Properties><Metadata /></Blob>"
            for n in names
        )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="'
            f'{container}"><Prefix>{prefix}</Prefix><Blobs>{items}</Blobs><NextMarker />'
            "</EnumerationResults>"
        )
        return 200, {"Content-Type": "application/xml"}, xml


def _range(headers: dict[str, str], size: int) -> tuple[int, int] | None:
    """``(start, end)`` of an ``x-ms-range`` / ``Range: bytes=start-end`` header (clipped)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("x-ms-range") or lowered.get("range")
    if not value or not value.startswith("bytes=") or size == 0:
        return None
    first, _, last = value.removeprefix("bytes=").partition("-")
    start = int(first or 0)
    end = min(int(last), size - 1) if last else size - 1
    return start, end


def http_date() -> str:
    return datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
