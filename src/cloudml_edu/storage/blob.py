"""Azure Blob Storage as a :class:`~cloudml_edu.storage.base.Store` (azure-storage-blob, imported lazily).

Objects live in one container; dataset versions under ``<owner>/<name>/<version>/``.
One HTTP session serves every thread, its connection pool sized to
``max_concurrency``.  Every object's Content-MD5 is computed by the service (small
objects, sent with a transactional ``Content-MD5`` it checks) or by us while
streaming its blocks (large objects), so listing a prefix verifies an upload.
Retries live in :mod:`cloudml_edu.storage.retry`; every SDK error is mapped by
:func:`translate_error` to the library's errors, with no secret in the message.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, unquote, urlencode, urlsplit

from pydantic import SecretStr
from requests.utils import get_environ_proxies

from cloudml_edu._http import error_class
from cloudml_edu._secrets import install_log_filter, redact, register_secret
from cloudml_edu.config import _ACCOUNT_RE, _CONTAINER_RE, StorageConfig, Timeouts
from cloudml_edu.errors import (
    AuthError,
    CloudMLError,
    ConfigError,
    NotFoundError,
    QuotaError,
    ServiceError,
    ThrottledError,
    TimeoutError,
)
from cloudml_edu.storage._sdk_internals import pipeline_client
from cloudml_edu.storage.base import ObjectInfo, check_key, check_md5
from cloudml_edu.storage.retry import RETRY_STATUSES, RetrySettings, make_retry_policy

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

__all__ = ["BlobStore", "translate_error"]

Secret = str | SecretStr | None
AuthKind = Literal["connection_string", "account_key", "sas_token", "credential"]

_MiB = 1024 * 1024
_AUTH_HINTS: dict[AuthKind, str] = {
    "connection_string": "check [storage] connection_string (CLOUDML_STORAGE__CONNECTION_STRING or "
    "AZURE_STORAGE_CONNECTION_STRING): copy it again from the portal's 'Access keys' page",
    "account_key": "check [storage] account_key and account_name (CLOUDML_STORAGE__ACCOUNT_KEY or "
    "AZURE_STORAGE_KEY): the key may have been rotated",
    "sas_token": "check [storage] sas_token (CLOUDML_STORAGE__SAS_TOKEN): it may have expired or "
    "lack read/write/list/delete permissions on the container",
    "credential": "run `az login` (or set up a managed identity / AZURE_CLIENT_* variables) and make "
    "sure the identity has the 'Storage Blob Data Contributor' role on the account",
}


def _secret(value: Secret) -> str | None:
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    register_secret(plain)
    return plain or None


def _timed_out(exc: BaseException) -> bool:
    """True when ``exc`` (or the error it wraps) is a connect or read timeout."""
    inner = getattr(exc, "inner_exception", None) or exc.__cause__
    names = {type(exc).__name__, type(inner).__name__}
    return any("Timeout" in n for n in names) or "timed out" in str(exc).lower()


def _body_of(response: Any) -> str:
    """The text of a failed answer already read (the service's error XML), else ""."""
    from azure.core.exceptions import AzureError

    try:
        return str(response.text()) if response is not None else ""
    except (AzureError, ValueError, AttributeError):  # not read, not text, or no body at all
        return ""


def translate_error(
    exc: BaseException,
    *,
    action: str,
    where: str,
    auth: AuthKind,
    timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen settings
) -> CloudMLError:
    """Map an azure-core / azure-identity exception to a :class:`CloudMLError` (secrets redacted).

    An HTTP answer's class comes from the one status table
    (:func:`cloudml_edu._http.error_class`: 401/403 AuthError naming the setting to
    check, 404 NotFoundError, 429 ThrottledError, a quota body QuotaError, other 4xx
    ConfigError, 5xx ServiceError); the message is keyed by that class.  A credential
    that could not be obtained -> AuthError; a service that stayed silent past the
    ``timeouts`` -> TimeoutError; connection failures (after the retries of
    :mod:`~cloudml_edu.storage.retry`) -> ServiceError.
    """
    from azure.core.exceptions import (
        ClientAuthenticationError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, CloudMLError):
        return exc
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        code = getattr(exc, "error_code", None) or (
            response.headers.get("x-ms-error-code", "") if response is not None else ""
        )
        code = str(getattr(code, "value", code))
        detail = f"HTTP {status} {code}".strip()
        said = f"{code} {getattr(exc, 'message', None) or exc} {_body_of(response)}"
        kind = error_class(status, said)
        again = " after retries" if status in RETRY_STATUSES else ""
        step = _NEXT_STEP.get(kind, _NEXT_STEP[ServiceError])
        return kind(
            step.format(
                action=action, where=where, detail=detail, again=again, hint=_AUTH_HINTS[auth]
            )
        )
    if isinstance(exc, ClientAuthenticationError):
        return AuthError(
            f"{action}: {where} refused the credentials ({type(exc).__name__}); {_AUTH_HINTS[auth]}"
        )
    if isinstance(exc, ResourceNotFoundError):
        return NotFoundError(
            f"{action}: not found in {where} ({type(exc).__name__}); check the name and version"
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError) and _timed_out(exc):
        return TimeoutError(
            f"{action}: {where} did not answer within {timeouts.read:g} s (connect "
            f"{timeouts.connect:g} s, {timeouts.total:g} s in all with retries); check that the "
            "service is up and your network or proxy, then run it again (or raise [timeouts] "
            "read/total, CLOUDML_TIMEOUTS__READ, for a slow link)"
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return ServiceError(
            f"{action}: could not reach {where} after retries ({type(exc).__name__}); check the "
            "account URL, your network or proxy, and that the service is up, then run it again"
        )
    return ServiceError(redact(f"{action}: {where} failed: {type(exc).__name__}: {exc}"))


#: Each error class's message for blob storage, keyed by the class the status table picks.
_NEXT_STEP: dict[type[CloudMLError], str] = {
    AuthError: "{action}: {where} refused the credentials ({detail}); {hint}",
    NotFoundError: "{action}: not found in {where} ({detail}); check the name and version",
    ThrottledError: "{action}: {where} kept throttling requests ({detail}) after retries; "
    "lower [storage] max_concurrency or try again later",
    QuotaError: "{action}: {where} refused: a limit of the storage account is reached "
    "({detail}); delete dataset versions you no longer need or ask the account's admin to "
    "raise the limit, then run it again",
    ConfigError: "{action}: {where} refused the request ({detail}); check [storage] "
    "container and the dataset name and version, then run it again",
    ServiceError: "{action}: {where} answered {detail}{again}; run it again later",
}


def _account_from_url(url: str) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in {"127.0.0.1", "localhost"} or host.replace(".", "").isdigit():
        return parts.path.strip("/").split("/", 1)[0] or None
    return host.split(".", 1)[0] or None


class BlobStore:
    """A blob container as an object store.

    Authenticate with exactly one of ``connection_string``, ``account_key`` (with
    ``account_url`` or ``account_name``), ``sas_token``, or ``credential`` (any azure
    TokenCredential; default :class:`azure.identity.DefaultAzureCredential`).  The
    container is created at the first write when missing.  No request is made here.
    """

    def __init__(
        self,
        *,
        container: str = "cloudml",
        account_url: str | None = None,
        account_name: str | None = None,
        connection_string: Secret = None,
        account_key: Secret = None,
        sas_token: Secret = None,
        credential: Any = None,
        max_concurrency: int = 32,
        retry: RetrySettings = RetrySettings(),  # noqa: B008 - frozen dataclass
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen settings
        block_size: int = 4 * _MiB,
        logging_enable: bool = False,
    ) -> None:
        if not _CONTAINER_RE.match(container):
            raise ConfigError(
                f"{container!r} is not a valid container name: use 3-63 lowercase letters, digits "
                "and single hyphens, starting and ending with a letter or digit ([storage] container)"
            )
        if account_name is not None and not _ACCOUNT_RE.match(account_name):
            raise ConfigError(
                f"{account_name!r} is not a valid storage account name: use 3-24 lowercase letters "
                "and digits ([storage] account_name)"
            )
        if account_url is not None and urlsplit(account_url).scheme not in {"http", "https"}:
            raise ConfigError(
                f"[storage] account_url must start with https:// (got {redact(account_url)[:60]!r}); "
                "copy the blob service URL from the portal"
            )
        install_log_filter()
        self.container = container
        self.block_size = block_size
        self._max_concurrency = max_concurrency
        self._block_workers = max(2, min(4, max_concurrency // 2))  # 4 MB blocks: memory bound
        self._created = False
        self._create_lock = threading.Lock()
        self.timeouts = timeouts
        self._client_options: dict[str, Any] = {
            "retry_policy": make_retry_policy(retry, timeouts),
            "transport": self._transport(max_concurrency),
            "connection_timeout": timeouts.connect,
            "read_timeout": timeouts.read,
            "max_single_put_size": block_size,
            "max_block_size": block_size,
            "max_single_get_size": block_size,
            "max_chunk_get_size": block_size,
            "logging_enable": logging_enable,
        }
        conn, key, sas = _secret(connection_string), _secret(account_key), _secret(sas_token)
        self._service = self._service_client(conn, account_url, account_name, key, sas, credential)
        endpoint = urlsplit(self._service.primary_endpoint)
        self.account_url = f"{endpoint.scheme}://{endpoint.netloc}{endpoint.path}".rstrip("/")
        self._session.proxies = get_environ_proxies(self.account_url)
        self._client: ContainerClient = self._service.get_container_client(container)
        self._pipeline = pipeline_client(self._client)  # signing, retries, logging

    # ---- construction ------------------------------------------------------
    @classmethod
    def from_config(
        cls,
        config: StorageConfig,
        *,
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen settings
        **options: Any,
    ) -> BlobStore:
        """A store for the ``[storage]`` section, bounded by ``[timeouts]``; ``options`` go to
        :class:`BlobStore`."""
        return cls(
            timeouts=timeouts,
            container=config.container,
            account_url=config.account_url,
            account_name=config.account_name,
            connection_string=config.connection_string,
            account_key=config.account_key,
            sas_token=config.sas_token,
            max_concurrency=config.max_concurrency,
            **options,
        )

    def _transport(self, pool_size: int) -> Any:
        import requests
        from azure.core.pipeline.transport import RequestsTransport
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        session = self._session = requests.Session()
        # One endpoint: HTTP(S)_PROXY / NO_PROXY are resolved once in __init__, not per request.
        session.trust_env = False
        adapter = HTTPAdapter(
            pool_connections=4,
            pool_maxsize=pool_size,
            max_retries=Retry(total=False, redirect=False, raise_on_status=False),
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return RequestsTransport(session=session, session_owner=True)

    def _service_client(
        self,
        conn: str | None,
        account_url: str | None,
        account_name: str | None,
        key: str | None,
        sas: str | None,
        credential: Any,
    ) -> Any:
        from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
        from azure.storage.blob import BlobServiceClient

        if conn is not None:
            self._auth: AuthKind = "connection_string"
            try:
                return BlobServiceClient.from_connection_string(conn, **self._client_options)
            except ValueError as exc:
                raise ConfigError(
                    f"[storage] connection_string is malformed ({redact(str(exc))[:120]}); "
                    "copy it again from the portal's 'Access keys' page"
                ) from None
        url = account_url or (
            f"https://{account_name}.blob.core.windows.net" if account_name else None
        )
        if url is None:
            raise ConfigError(
                "no blob account configured: set [storage] account_url (or account_name, or "
                "connection_string) in cloudml.toml, or use kind = 'local'"
            )
        if key is not None:
            self._auth = "account_key"
            name = account_name or _account_from_url(url)
            if not name:
                raise ConfigError("[storage] account_key needs account_name too; set it")
            credential = AzureNamedKeyCredential(name, key)
        elif sas is not None:
            self._auth = "sas_token"
            credential = AzureSasCredential(sas.lstrip("?"))
        else:
            self._auth = "credential"
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
        try:
            return BlobServiceClient(url, credential=credential, **self._client_options)
        except ValueError as exc:
            raise ConfigError(
                f"[storage] account_url or credential rejected: {redact(str(exc))}"
            ) from None

    # ---- display -----------------------------------------------------------
    def __repr__(self) -> str:
        return f"BlobStore({self.url!r}, auth={self._auth!r})"

    @property
    def url(self) -> str:
        """``<account URL>/<container>``: no credential in it."""
        return f"{self.account_url}/{self.container}"

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    @property
    def identity(self) -> tuple[str, ...]:
        return ("azure_blob", self.account_url.lower(), self.container)

    def local_path(self, key: str) -> None:
        return None

    def _fail(self, exc: BaseException, action: str) -> CloudMLError:
        return translate_error(
            exc, action=action, where=self.url, auth=self._auth, timeouts=self.timeouts
        )

    # ---- Store protocol ----------------------------------------------------
    def ensure_container(self) -> None:
        """Create the container if it does not exist (once per store)."""
        if self._created:
            return
        from azure.core.exceptions import ResourceExistsError

        with self._create_lock:
            if self._created:
                return
            try:
                self._client.create_container()
            except ResourceExistsError:
                pass
            except Exception as exc:
                error = self._fail(exc, f"creating container {self.container}")
                # A SAS scoped to objects may not create containers; the container may exist.
                if not (isinstance(error, AuthError) and self._auth == "sas_token"):
                    raise error from exc
            self._created = True

    def info(self, key: str) -> ObjectInfo | None:
        response = self._send("HEAD", key, {}, {}, None, expect=200, action=f"reading {key}")
        if response is None:
            return None
        md5 = response.headers.get("Content-MD5")
        size = int(response.headers.get("Content-Length") or 0)
        return ObjectInfo(key=key, size=size, md5=base64.b64decode(md5).hex() if md5 else None)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every blob under ``prefix``, 5,000 a request.

        The listing XML is parsed here with ElementTree: the SDK's generic deserializer
        spends ~0.3 ms a blob, which made re-syncing an unchanged dataset slow.
        """
        from xml.etree import ElementTree

        params = {"restype": "container", "comp": "list", "maxresults": "5000"}
        if prefix:
            params["prefix"] = prefix
        while True:
            action = f"listing {prefix or 'the container'}"
            response = self._send("GET", None, params, {}, None, expect=200, action=action)
            if response is None:
                return  # no container yet: nothing stored
            root = ElementTree.fromstring(response.content)
            for blob in root.iterfind("Blobs/Blob"):
                name = blob.find("Name")
                key = name.text or "" if name is not None else ""
                if name is not None and name.get("Encoded") == "true":
                    key = unquote(key)
                md5 = blob.findtext("Properties/Content-MD5")
                yield ObjectInfo(
                    key=key,
                    size=int(blob.findtext("Properties/Content-Length") or 0),
                    md5=base64.b64decode(md5).hex() if md5 else None,
                )
            marker = root.findtext("NextMarker")
            if not marker:
                return
            params["marker"] = marker

    def put_file(self, key: str, path: Path, *, md5: str) -> str:
        """Upload ``path``: one request up to ``block_size``, else streamed blocks.

        The content must hash to ``md5`` (the manifest's); a file edited since it was
        scanned raises DatasetError and leaves the object unchanged.  Returns the MD5
        the service answered with (small files) or computed while streaming (blocks).
        """
        self.ensure_container()
        size = path.stat().st_size
        if size <= self.block_size:
            data = path.read_bytes()
            check_md5(path, hashlib.md5(data).hexdigest(), md5)
            return self._put(key, data, md5)
        return self._put_blocks(key, path, md5)

    def put_bytes(self, key: str, data: bytes) -> str:
        self.ensure_container()
        return self._put(key, data, hashlib.md5(data).hexdigest())

    def put_new(self, key: str, data: bytes) -> bool:
        """One Put Blob with ``If-None-Match: *``: the service refuses it (409) when the
        blob exists, so of two writers exactly one creates it."""
        self.ensure_container()
        headers = {
            "x-ms-blob-type": "BlockBlob",
            "Content-Type": "application/octet-stream",
            "If-None-Match": "*",
        }
        action = f"creating {key}"
        response = self._send("PUT", key, {}, headers, data, expect=201, action=action, also=409)
        if response is None:
            raise NotFoundError(
                f"{action}: container {self.container} is gone from {self.url}; run it again"
            )
        return bool(response.status_code == 201)

    def _put(self, key: str, data: bytes, md5: str) -> str:
        """One Put Blob request.  The service checks the transactional Content-MD5, stores
        it as the blob's MD5 and answers with it: that answer is the verification, no
        listing needed.  Sent through the client's pipeline (signing, retries, logging)
        as a prebuilt request: ``upload_blob`` costs twice the CPU for a small blob."""
        headers = {
            "x-ms-blob-type": "BlockBlob",
            "Content-Type": "application/octet-stream",
            "Content-MD5": base64.b64encode(bytes.fromhex(md5)).decode(),
        }
        response = self._send("PUT", key, {}, headers, data, expect=201, action=f"uploading {key}")
        if response is None:
            raise NotFoundError(
                f"uploading {key}: container {self.container} is gone from {self.url}; "
                "run the upload again (it recreates the container)"
            )
        answered = response.headers.get("Content-MD5")
        if not answered:
            raise ServiceError(
                f"uploading {key}: {self.url} did not confirm the content's MD5; run it again"
            )
        return base64.b64decode(answered).hex()

    def _send(
        self,
        method: str,
        key: str | None,
        params: dict[str, str],
        headers: dict[str, str],
        content: bytes | None,
        *,
        expect: int,
        action: str,
        also: int | None = None,
    ) -> Any:
        """Send one REST request on the container (``key=None``) or a blob; 404 -> None.

        ``also`` is a second status answered as a response rather than an error."""
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest

        base, _, query = self._client.url.partition("?")
        url = base + (f"/{quote(check_key(key, store=self.url))}" if key is not None else "")
        extra = "&".join(filter(None, (query, urlencode(params))))
        headers["x-ms-version"] = self._client.api_version
        request = HttpRequest(
            method, f"{url}?{extra}" if extra else url, headers=headers, content=content
        )
        try:
            # stream=True: skip azure-core's body decoding; read() releases the connection.
            response = self._pipeline.send_request(request, stream=True)
            response.read()
            if response.status_code == 404:
                return None
            if response.status_code not in (expect, also):
                raise HttpResponseError(response=response)
        except Exception as exc:
            raise self._fail(exc, action) from exc
        return response

    def _put_blocks(self, key: str, path: Path, md5: str) -> str:
        """Stage 4 MB blocks (each checked by the service), then commit them with the
        whole file's MD5, computed while streaming and compared with ``md5`` first."""
        from azure.storage.blob import BlobBlock, ContentSettings

        check_key(key, store=self.url)
        blob = self._client.get_blob_client(key)
        digest = hashlib.md5()
        ids: list[str] = []
        slots = threading.BoundedSemaphore(self._block_workers + 1)
        pending: list[Future[Any]] = []
        try:
            with path.open("rb") as file, ThreadPoolExecutor(self._block_workers) as pool:
                while chunk := file.read(self.block_size):
                    digest.update(chunk)
                    block_id = base64.b64encode(f"{len(ids):08d}".encode()).decode()
                    ids.append(block_id)
                    slots.acquire()  # bounds memory: at most workers+1 blocks in flight
                    job = pool.submit(blob.stage_block, block_id, chunk, validate_content=True)
                    job.add_done_callback(lambda _: slots.release())
                    pending.append(job)
                for job in pending:
                    job.result()
            check_md5(path, digest.hexdigest(), md5)
            blob.commit_block_list(
                [BlobBlock(block_id=b) for b in ids],
                content_settings=ContentSettings(content_md5=bytearray.fromhex(md5)),
            )
        except CloudMLError:
            raise
        except Exception as exc:
            raise self._fail(exc, f"uploading {key}") from exc
        return md5

    def get_bytes(self, key: str) -> bytes:
        response = self._send("GET", key, {}, {}, None, expect=200, action=f"reading {key}")
        if response is None:
            raise NotFoundError(
                f"{key} not found in {self.url}; check the dataset name and version"
            )
        data: bytes = response.content
        return data

    def download(self, key: str, dest: Path) -> None:
        """Stream ``key`` to ``dest`` (via ``dest.partial``, renamed when complete)."""
        check_key(key, store=self.url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        try:
            with partial.open("wb") as file:
                self._client.download_blob(key, max_concurrency=self._block_workers).readinto(file)
        except Exception as exc:
            partial.unlink(missing_ok=True)
            raise self._fail(exc, f"downloading {key}") from exc
        partial.replace(dest)

    def delete(self, key: str) -> None:
        self._send("DELETE", key, {}, {}, None, expect=202, action=f"deleting {key}")

    # ---- sharing -----------------------------------------------------------
    def read_urls(
        self, keys: Sequence[str], *, expires_in: timedelta
    ) -> tuple[dict[str, str], datetime]:
        """Read-only SAS URLs for ``keys`` and their expiry.

        With an account key (or a connection string holding one): service SAS signed
        locally.  With an Entra ID credential: user-delegation SAS (one request for the
        delegation key).  A SAS token cannot mint new ones: ConfigError.
        """
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        now = datetime.now(UTC)
        start, expiry = now - timedelta(minutes=5), now + expires_in
        signing: dict[str, Any] = {}
        account_key = getattr(self._service.credential, "account_key", None)
        if account_key:
            signing["account_key"] = account_key
        elif self._auth == "credential":
            try:
                signing["user_delegation_key"] = self._service.get_user_delegation_key(
                    start, expiry
                )
            except Exception as exc:
                raise self._fail(exc, "getting a user delegation key") from exc
        else:
            raise ConfigError(
                "a SAS token cannot create new SAS URLs: configure [storage] account_key, a "
                "connection string with AccountKey, or an Entra ID credential (az login)"
            )
        urls: dict[str, str] = {}
        for key in keys:
            token = generate_blob_sas(
                self._service.account_name,
                self.container,
                key,
                permission=BlobSasPermissions(read=True),
                start=start,
                expiry=expiry,
                protocol="https" if self.account_url.startswith("https") else "https,http",
                **signing,
            )
            register_secret(token)
            urls[key] = f"{self.url}/{quote(key)}?{token}"
        return urls, expiry

    def close(self) -> None:
        """Close the HTTP session."""
        self._service.close()
