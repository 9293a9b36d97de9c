"""BlobStore against a real Azurite: the Store protocol, error mapping, retries, secrets."""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from cloudml_edu import Dataset, Workspace
from cloudml_edu.datasets import open_dataset, upload_dataset
from cloudml_edu.errors import (
    AuthError,
    ConfigError,
    DatasetError,
    NotFoundError,
    ServiceError,
    ThrottledError,
)
from cloudml_edu.storage.blob import BlobStore
from cloudml_edu.storage.retry import RetrySettings, retry_after
from cloudml_edu.testing.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite
from cloudml_edu.testing.faults import FaultProxy, Seen

pytestmark = pytest.mark.azurite


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_protocol_round_trip(
    azurite: Azurite, make_store: Callable[..., BlobStore], tmp_path: Path
) -> None:
    store = make_store(azurite.connection_string, block_size=256 * 1024)
    assert store.info("a/missing") is None
    assert list(store.list("a/")) == []  # the container does not exist yet

    store.put_bytes("a/small.txt", b"hello")
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 5000)  # 1.28 MB: five streamed blocks
    store.put_file("a/big.bin", big, md5=_md5(big.read_bytes()))

    assert store.info("a/small.txt") == store.info("a/small.txt")
    listed = {info.key: info for info in store.list("a/")}
    assert listed["a/small.txt"].md5 == _md5(b"hello")
    assert listed["a/big.bin"].md5 == _md5(big.read_bytes())
    assert listed["a/big.bin"].size == big.stat().st_size
    assert store.get_bytes("a/small.txt") == b"hello"
    store.download("a/big.bin", tmp_path / "out" / "big.bin")
    assert (tmp_path / "out" / "big.bin").read_bytes() == big.read_bytes()

    store.delete("a/small.txt")
    store.delete("a/small.txt")  # already gone: still fine
    assert store.info("a/small.txt") is None
    with pytest.raises(NotFoundError):
        store.get_bytes("a/small.txt")


def test_changed_file_is_refused(
    azurite: Azurite, make_store: Callable[..., BlobStore], tmp_path: Path
) -> None:
    store = make_store(azurite.connection_string, block_size=64 * 1024)
    small, big = tmp_path / "small.png", tmp_path / "big.bin"
    small.write_bytes(b"now")
    big.write_bytes(b"x" * 200_000)
    with pytest.raises(DatasetError, match="changed since"):
        store.put_file("small", small, md5=_md5(b"before"))
    with pytest.raises(DatasetError, match="changed since"):
        store.put_file("big", big, md5=_md5(b"before"))
    assert store.info("small") is None and store.info("big") is None


def test_connection_pool_matches_concurrency(
    azurite: Azurite, make_store: Callable[..., BlobStore]
) -> None:
    store = make_store(azurite.connection_string, max_concurrency=24)
    adapter = store._session.get_adapter(store.account_url)
    assert adapter._pool_maxsize == 24  # type: ignore[attr-defined]


def test_bad_container_name_fails_before_any_request(proxy: FaultProxy, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="container"):
        BlobStore(connection_string=proxy.connection_string, container="Bad_Name")
    config = tmp_path / "cloudml.toml"
    config.write_text('[storage]\nkind = "azure_blob"\ncontainer = "no"\n')
    with pytest.raises(ConfigError, match="container"):
        Workspace.from_config(config)
    assert proxy.seen == []


def test_wrong_key_is_an_auth_error(azurite: Azurite, make_store: Callable[..., BlobStore]) -> None:
    wrong = base64.b64encode(b"not the right key at all, sorry!" * 2).decode()
    store = make_store(azurite.connection_string.replace(ACCOUNT_KEY, wrong))
    with pytest.raises(AuthError, match=r"account_key|connection_string") as caught:
        store.put_bytes("x", b"data")
    assert wrong not in str(caught.value) and wrong not in repr(store)


def test_unreachable_endpoint_is_retried_then_a_service_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    store = BlobStore(
        account_url=f"http://127.0.0.1:{port}/{ACCOUNT_NAME}",
        account_key=ACCOUNT_KEY,
        retry=RetrySettings(attempts=3, backoff=0.01, max_backoff=0.02, timeout=5),
    )
    started = time.monotonic()
    with pytest.raises(ServiceError, match=f"127.0.0.1:{port}") as caught:
        store.put_bytes("x", b"data")
    assert time.monotonic() - started < 5
    assert ACCOUNT_KEY not in str(caught.value)
    history = caught.value.__cause__
    assert history is not None  # the SDK error is chained


def test_retry_after_parsing() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    assert retry_after({"x-ms-retry-after-ms": "1500"}) == 1.5
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({}) is None


def test_upload_survives_503_429_and_resets(
    proxy: FaultProxy, make_store: Callable[..., BlobStore], png_dir: Path
) -> None:
    attempts: Counter[str] = Counter()
    lock = threading.Lock()
    kinds: list[int | str | None] = [503, "reset", 500, None, 502, "reset"]

    def fault(seen: Seen) -> int | str | None:
        """Each blob's first two PUTs fail in turn (a third of the blobs once), one gets a 429."""
        if seen.method != "PUT" or "/files/" not in seen.path:
            return None
        with lock:
            attempts[seen.path] += 1
            n, tried = len(attempts), attempts[seen.path]
        if n == 3 and tried == 1:
            return 429  # with Retry-After: 1
        return kinds[(n + tried) % len(kinds)] if tried <= 2 else None

    proxy.fault = fault
    store = make_store(proxy.connection_string, max_concurrency=4)
    dataset = Dataset.from_folder(png_dir, name="faulty")
    manifest = dataset.manifest.model_copy(update={"owner": "o", "version": "1"})
    uploaded = upload_dataset(dataset, manifest, store, progress=False)

    statuses = [s.status for s in proxy.seen]
    assert statuses.count(503) > 5 and statuses.count("reset") > 5 and 429 in statuses
    throttled = next(s for s in proxy.seen if s.status == 429)
    retried = next(s for s in proxy.seen if s.path == throttled.path and s.at > throttled.at)
    assert retried.at - throttled.at >= 0.9  # Retry-After: 1 was honoured
    reread = {r.path: data for r, data in open_dataset(store, "o/faulty/1").iter_bytes()}
    assert reread == {r.path: (png_dir / r.path).read_bytes() for r in uploaded.records}


@pytest.mark.parametrize(("fault", "error"), [(503, "503"), ("reset", "could not reach")])
def test_persistent_faults_give_up_after_bounded_attempts(
    proxy: FaultProxy, make_store: Callable[..., BlobStore], fault: int | str, error: str
) -> None:
    proxy.fault = lambda seen: fault
    store = make_store(
        proxy.connection_string,
        retry=RetrySettings(attempts=4, backoff=0.01, max_backoff=0.02, timeout=5),
    )
    with pytest.raises(ServiceError, match=error) as caught:
        store.put_bytes("x", b"data")
    assert len(proxy.seen) == 4  # retried, and bounded in attempts
    assert f"127.0.0.1:{proxy.port}" in str(caught.value) and ACCOUNT_KEY not in str(caught.value)


def test_retries_stop_at_the_time_bound(
    proxy: FaultProxy, make_store: Callable[..., BlobStore]
) -> None:
    proxy.fault = lambda seen: 429  # each answer asks for Retry-After: 1
    store = make_store(
        proxy.connection_string,
        retry=RetrySettings(attempts=10, backoff=0.01, max_backoff=0.02, timeout=1.5),
    )
    with pytest.raises(ThrottledError, match="max_concurrency"):
        store.put_bytes("x", b"data")
    assert len(proxy.seen) == 2  # the third wait would pass the 1.5 s bound


def test_secrets_never_reach_logs_reprs_errors_or_progress(
    azurite: Azurite,
    make_store: Callable[..., BlobStore],
    png_dir: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    fast_retry: RetrySettings,
) -> None:
    from datetime import UTC, datetime, timedelta

    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    sas = generate_account_sas(
        ACCOUNT_NAME, ACCOUNT_KEY, ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, write=True, list=True, delete=True, create=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )  # fmt: skip
    signature = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    caplog.set_level(logging.DEBUG)
    for name in ("azure", "urllib3", "cloudml_edu"):
        logging.getLogger(name).setLevel(logging.DEBUG)

    keyed = make_store(azurite.connection_string, logging_enable=True)
    signed = BlobStore(account_url=azurite.account_url, sas_token=sas, container=keyed.container,
                       retry=fast_retry, logging_enable=True)  # fmt: skip
    dataset = Dataset.from_folder(png_dir, name="secret")
    for version, store in (("1", keyed), ("2", signed)):
        manifest = dataset.manifest.model_copy(update={"owner": "o", "version": version})
        upload_dataset(dataset, manifest, store, progress=True)
        list(open_dataset(store, f"o/secret/{version}").iter_bytes())
    errors = []
    for broken in (
        azurite.connection_string.replace(ACCOUNT_KEY, base64.b64encode(b"k" * 64).decode()),
        azurite.connection_string.replace("AccountKey=", "AccountKey=;Junk"),
    ):
        try:
            make_store(broken).put_bytes("x", b"y")
        except Exception as exc:  # every failure is reported, none may leak
            errors.append(f"{exc!r} {exc}")
    signed.close()

    output = capsys.readouterr()
    text = "\n".join([caplog.text, output.out, output.err, repr(keyed), repr(signed), *errors])
    assert "PUT" in caplog.text and "sig=" in caplog.text  # the SDK really logged requests
    assert "uploading 60/60 files" in output.err  # the progress bar really drew (on stderr)
    for secret in (ACCOUNT_KEY, ACCOUNT_KEY[:20], signature, signature.replace("%2B", "+")):
        assert secret not in text


def test_missing_entra_credential_is_an_auth_error_naming_az_login() -> None:
    from azure.identity import CredentialUnavailableError

    class NoLogin:
        calls = 0

        def get_token(self, *scopes: str, **kwargs: object) -> object:
            NoLogin.calls += 1
            raise CredentialUnavailableError("no az login here")

    store = BlobStore(account_url="https://127.0.0.1:9/devstoreaccount1", credential=NoLogin())
    with pytest.raises(AuthError, match="az login"):
        store.put_bytes("x", b"data")
    assert NoLogin.calls == 1  # a missing credential is not retried
    assert (
        repr(store)
        == "BlobStore('https://127.0.0.1:9/devstoreaccount1/cloudml', auth='credential')"
    )


def test_share_with_an_entra_credential_uses_a_user_delegation_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from azure.storage.blob import UserDelegationKey

    class Token:
        def get_token(self, *scopes: str, **kwargs: object) -> object:
            raise AssertionError("no request is expected")

    store = BlobStore(account_url="https://acct.blob.core.windows.net", credential=Token())
    key = UserDelegationKey()
    key.signed_oid, key.signed_tid = "00000000-0000-0000-0000-00000000000a", "tenant"
    key.signed_start, key.signed_expiry = "2026-11-27T00:00:00Z", "2026-11-27T02:00:00Z"
    key.signed_service, key.signed_version = "b", "2025-01-05"
    key.value = base64.b64encode(b"delegation key bytes").decode()
    asked: list[object] = []
    monkeypatch.setattr(
        store._service, "get_user_delegation_key", lambda start, expiry: asked.append(expiry) or key
    )
    urls, expires = store.read_urls(["o/d/1/_manifest.json"], expires_in=timedelta(minutes=30))
    url = urls["o/d/1/_manifest.json"]
    assert asked == [expires] and url.startswith(f"{store.url}/o/d/1/_manifest.json?")
    assert "skoid=" in url and "sp=r&" in url and "spr=https" in url
