"""Push the star schema to a Power BI push dataset through the REST API.

``PowerBIClient(group_id).push(schema, name="cloudml-edu")`` finds the dataset by
name in the workspace (group) or creates it with every table, column type and
relationship of :mod:`~cloudml_edu.report.powerbi.schema`; clears each table's
rows; then posts rows in batches of at most 10,000, at most 120 POSTs a minute,
waiting out ``429 Retry-After``.  Pushing again replaces the rows: it is idempotent.

Power BI stops creating new push datasets on 2027-10-31; the Parquet export
(:mod:`.export`) is the main path, this one refreshes a shared dashboard live.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)

from cloudml_edu._http import error_class, error_for_status, retry_after
from cloudml_edu._secrets import install_log_filter, redact, register_secret
from cloudml_edu.config import Timeouts
from cloudml_edu.errors import (
    AuthError,
    CloudMLError,
    ConfigError,
    NotFoundError,
    QuotaError,
    ServiceError,
    TimeoutError,
)
from cloudml_edu.report.powerbi.schema import RELATIONSHIPS, TABLES, ColumnType

if TYPE_CHECKING:
    import pandas as pd

    from cloudml_edu.report.powerbi.export import StarSchema

__all__ = [
    "API",
    "MAX_POSTS_PER_MINUTE",
    "MAX_ROWS_PER_POST",
    "SCOPE",
    "PowerBIClient",
    "PushResult",
    "RateLimiter",
    "check_group",
    "dataset_definition",
]

log = logging.getLogger(__name__)

API = "https://api.powerbi.com/v1.0/myorg"
SCOPE = "https://analysis.windows.net/powerbi/api/.default"
MAX_ROWS_PER_POST = 10_000
MAX_POSTS_PER_MINUTE = 120

_DATA_TYPES: dict[ColumnType, str] = {
    "int": "Int64",
    "float": "Double",
    "string": "String",
    "bool": "Boolean",
    "datetime": "DateTime",
    "date": "DateTime",
}


class Credential(Protocol):
    """What :class:`PowerBIClient` needs from an azure-identity credential."""

    def get_token(self, *scopes: str) -> Any: ...


def dataset_definition(name: str) -> dict[str, Any]:
    """The body of ``POST .../datasets``: a Push dataset with every table and relationship."""
    return {
        "name": name,
        "defaultMode": "Push",
        "tables": [
            {
                "name": table,
                "columns": [{"name": c, "dataType": _DATA_TYPES[t]} for c, t in columns.items()],
            }
            for table, columns in TABLES.items()
        ],
        "relationships": [
            {
                "name": f"{table}.{column}",
                "fromTable": table,
                "fromColumn": column,
                "toTable": dim,
                "toColumn": key,
                "crossFilteringBehavior": "OneDirection",
            }
            for table, column, dim, key in RELATIONSHIPS
        ],
    }


class RateLimiter:
    """At most ``calls`` per ``period`` seconds (a sliding window); clock and sleep injectable."""

    def __init__(
        self,
        calls: int = MAX_POSTS_PER_MINUTE,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.calls, self.period = calls, period
        self.clock, self.sleep = clock, sleep
        self._times: deque[float] = deque()

    def acquire(self) -> None:
        """Wait until one more call fits in the window, then record it."""
        now = self.clock()
        while self._times and now - self._times[0] >= self.period:
            self._times.popleft()
        if len(self._times) >= self.calls:
            self.sleep(self._times[0] + self.period - now)
            self._times.popleft()
            now = self.clock()
        self._times.append(now)


class _RetryableError(Exception):
    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _retry_after(state: RetryCallState) -> float:
    """Seconds to wait: the server's ``Retry-After`` if any, else exponential from 1 s."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _RetryableError):
        asked = retry_after(exc.response.headers)
        if asked is not None:
            return min(asked, 120.0)
    return float(min(2 ** (state.attempt_number - 1), 30))


@dataclass
class PushResult:
    """What :meth:`PowerBIClient.push` did."""

    dataset_id: str
    created: bool
    rows: dict[str, int] = field(default_factory=dict)
    posts: int = 0


def _json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: ISO dates, nulls for missing values."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            utc = out[column].dt.tz is not None
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ" if utc else "%Y-%m-%d")
    out = out.astype(object).where(out.notna(), None)
    return list(out.to_dict(orient="records"))  # type: ignore[arg-type]


#: What a refused call means on Power BI, keyed by the class the status table picks
#: (:func:`cloudml_edu._http.error_class`): ``{call}`` is the method and path,
#: ``{status}`` and ``{said}`` the answer.
_NEXT_STEP: dict[type[CloudMLError], str] = {
    AuthError: "Power BI refused {call} (HTTP {status}): check that your account or service "
    "principal is a member of the Power BI workspace (Contributor or above) and that the tenant "
    "setting 'Allow service principals to use Power BI APIs' is on",
    QuotaError: "Power BI {call} refused: a quota is used up (HTTP {status}: {said}); delete "
    "push datasets you no longer need in the Power BI workspace, or use the Parquet export "
    "(`cloudml-edu powerbi export`)",
    ServiceError: "Power BI {call} failed with HTTP {status}: {said}",
}


class PowerBIClient:
    """A small client for Power BI push datasets in one workspace (``group_id``).

    ``credential`` defaults to ``azure.identity.DefaultAzureCredential()``; ``session``,
    ``clock`` and ``sleep`` are injectable for tests.  Each call, with its retries, ends
    within ``timeouts.total`` seconds (``[timeouts]`` of the workspace).
    """

    def __init__(
        self,
        group_id: str,
        *,
        credential: Credential | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 6,
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen settings
    ) -> None:
        install_log_filter()
        self.group_id = check_group(group_id)
        self._group_guid = group_id.lower() if _GUID.fullmatch(group_id) else None
        self._credential = credential
        self._session = session or requests.Session()
        self._sleep, self._clock = sleep, clock
        self._limiter = RateLimiter(clock=clock, sleep=sleep)
        self._max_attempts, self._timeouts = max_attempts, timeouts
        self._token: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return f"PowerBIClient(group_id={self.group_id!r})"

    @property
    def base(self) -> str:
        """The workspace's API root; a workspace given by name is looked up once."""
        if self._group_guid is None:
            self._group_guid = self._find_group(self.group_id)
        return f"{API}/groups/{self._group_guid}"

    def _find_group(self, name: str) -> str:
        condition = quote("name eq '" + name.replace("'", "''") + "'", safe="")
        found = self._request("GET", f"groups?$filter={condition}", scoped=False)
        groups = found.json().get("value", [])
        if len(groups) != 1:
            raise NotFoundError(
                f"no single Power BI workspace named {name!r} among yours ({len(groups)} "
                "found); pass its id (the GUID in the workspace URL, after /groups/)"
            )
        return str(groups[0]["id"])

    def _bearer(self) -> str:
        if self._token is None or self._token[1] - 60 < time.time():
            credential = self._credential
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = self._credential = DefaultAzureCredential()
            try:
                token = credential.get_token(SCOPE)
            except Exception as exc:
                raise AuthError(
                    f"could not get a Power BI token ({type(exc).__name__}); sign in with "
                    "`az login` or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET"
                ) from exc
            register_secret(token.token)
            self._token = (str(token.token), float(token.expires_on))
        return self._token[0]

    def _request(
        self, method: str, path: str, *, body: Any = None, scoped: bool = True
    ) -> requests.Response:
        """Send one call; retry 429 always (unless its body says a quota is used up: then
        at once QuotaError), and 5xx or connection errors only when idempotent.

        A POST (create dataset, append rows) that failed with 5xx may have been applied:
        it is not retried; pushing again clears and reposts, so it is safe to rerun.
        ``scoped``: under the workspace (``groups/<id>/``), else under ``myorg/``.
        """
        url = f"{self.base if scoped else API}/{path}"
        idempotent = method != "POST"
        bounds = self._timeouts
        deadline = self._clock() + bounds.total

        def attempt() -> requests.Response:
            if method == "POST":
                self._limiter.acquire()
            left = max(deadline - self._clock(), 0.01)
            try:
                response = self._session.request(
                    method,
                    url,
                    json=body,
                    timeout=(min(bounds.connect, left), min(bounds.read, left)),
                    headers={"Authorization": f"Bearer {self._bearer()}"},
                )
            except requests.Timeout as exc:
                raise TimeoutError(
                    f"Power BI {method} {path} did not answer within {bounds.read:g} s "
                    f"({bounds.total:g} s in all with retries); check your network and "
                    "https://status.powerbi.com, then push again (or raise [timeouts] read/total)"
                ) from exc
            except requests.ConnectionError as exc:
                raise ServiceError(
                    redact(f"cannot reach Power BI ({exc}); check the network")
                ) from exc
            if response.status_code == 429 and error_class(429, response.text) is QuotaError:
                return response  # a used-up quota does not come back by waiting: no retries
            if response.status_code == 429 or (idempotent and response.status_code >= 500):
                raise _RetryableError(response)
            return response

        retrying = Retrying(
            retry=retry_if_exception_type(
                (_RetryableError, ServiceError, TimeoutError) if idempotent else _RetryableError
            ),
            stop=stop_after_attempt(self._max_attempts) | stop_after_delay(bounds.total),
            wait=_retry_after,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except _RetryableError as exc:
            status = exc.response.status_code
            raise error_for_status(
                status,
                f"Power BI {method} {path} still failed with HTTP {status} after "
                f"{self._max_attempts} attempts; wait a minute and push again",
                body=exc.response.text,
            ) from exc
        return self._check(response, method, path)

    @staticmethod
    def _check(response: requests.Response, method: str, path: str) -> requests.Response:
        """``response`` if it succeeded; else the error the status table picks, with the
        next step for that class on Power BI."""
        status = response.status_code
        if status < 400:
            return response
        kind = error_class(status, response.text)
        step = _NEXT_STEP.get(kind, _NEXT_STEP[ServiceError])
        said = redact(response.text[:300])
        raise kind(step.format(call=f"{method} {path}", status=status, said=said))

    def find_dataset(self, name: str) -> str | None:
        """The id of the dataset called ``name`` in the workspace, or None."""
        datasets = self._request("GET", "datasets").json().get("value", [])
        return next((str(d["id"]) for d in datasets if d.get("name") == name), None)

    def create_dataset(self, name: str) -> str:
        """Create the push dataset ``name`` with every table; returns its id."""
        response = self._request(
            "POST", "datasets?defaultRetentionPolicy=None", body=dataset_definition(name)
        )
        return str(response.json()["id"])

    def clear_rows(self, dataset_id: str, table: str) -> None:
        """Delete every row of ``table``."""
        self._request("DELETE", f"datasets/{dataset_id}/tables/{table}/rows")

    def post_rows(self, dataset_id: str, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Append ``rows`` in batches of at most 10,000; returns how many POSTs it took."""
        batches = list(_batches(rows, MAX_ROWS_PER_POST))
        for batch in batches:
            self._request(
                "POST", f"datasets/{dataset_id}/tables/{table}/rows", body={"rows": batch}
            )
        return len(batches)

    def push(self, schema: StarSchema, *, name: str) -> PushResult:
        """Create or reuse the dataset ``name``, clear its tables and post every row."""
        dataset_id = self.find_dataset(name)
        result = PushResult(dataset_id or "", created=dataset_id is None)
        if dataset_id is None:
            result.dataset_id = self.create_dataset(name)
            log.info("created Power BI push dataset %s (%s)", name, result.dataset_id)
        else:
            for table in TABLES:
                self.clear_rows(result.dataset_id, table)
        for table in TABLES:
            rows = _json_rows(schema[table])
            result.posts += self.post_rows(result.dataset_id, table, rows)
            result.rows[table] = len(rows)
        log.info("pushed %d rows in %d POSTs to %s", sum(result.rows.values()), result.posts, name)
        return result


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_GROUP_NAME = re.compile(r"[^\W][\w .()&'+,-]{0,255}")


def check_group(group: object) -> str:
    """A Power BI workspace: its id (a GUID) or its name; anything that could reach another
    API (``../../admin/groups``, ``?``, ``#``) is a ConfigError, before anything is sent."""
    if isinstance(group, str) and (_GUID.fullmatch(group) or _GROUP_NAME.fullmatch(group)):
        return group
    what = f"a Power BI workspace is given by its id or its name, got {group!r}"
    example = "the GUID in the workspace URL, after /groups/"
    raise ConfigError(
        f"{what}; pass group_id=<{example}> or the workspace's name",
        cli_message=f"{what}; pass --group <{example}> or the workspace's name",
    )


def _batches(rows: Sequence[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])
