"""The one place that decides which blob requests are retried, how often and how long.

Retrying happens per HTTP request inside the azure-core pipeline (a subclass of
azure-storage-blob's ``StorageRetryPolicy``), not around whole operations with
tenacity, because:

* every request is retried, including each block of a chunked upload and each
  page of a listing, without re-running the parts that already succeeded;
* the storage policy rewinds a streamed request body before resending it, so a
  file is streamed again from its start rather than held in memory;
* all blob operations are idempotent (PUT with overwrite, GET, DELETE), so a
  request that may have reached the server is safe to repeat.

The SDK's own policy does not retry 429, ignores ``Retry-After`` and has no bound
on total time; this one retries 408, 429, 500, 502, 503, 504, connection resets
and timeouts with exponential backoff and full jitter, waits at least what
``Retry-After`` (or ``x-ms-retry-after-ms``) asks, and gives up after
``attempts`` tries or once ``[timeouts] total`` seconds have passed: each try's
connect and read timeouts are cut to what is left of that budget, so a server that
accepts connections and never answers costs at most ``total`` seconds, not
``attempts`` times the read timeout.  A 429 whose ``x-ms-error-code`` says a quota
is used up (the one status table's :class:`~cloudml_edu.errors.QuotaError`) is not
retried: waiting does not bring a quota back.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloudml_edu._http import RETRY_STATUSES, error_class, retry_after
from cloudml_edu.config import Timeouts
from cloudml_edu.errors import QuotaError

if TYPE_CHECKING:
    from azure.core.pipeline import PipelineRequest, PipelineResponse
    from azure.core.pipeline.policies import HTTPPolicy

__all__ = ["RETRY_STATUSES", "RetrySettings", "make_retry_policy", "retry_after"]


@dataclass(frozen=True, kw_only=True)
class RetrySettings:
    """How hard to retry: ``attempts`` tries in all, backoff ``backoff * 2**n`` capped at
    ``max_backoff`` seconds.  How long in all is :class:`~cloudml_edu.config.Timeouts`."""

    attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 20.0


def make_retry_policy(
    settings: RetrySettings,
    timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen settings
) -> HTTPPolicy[Any, Any]:
    """An azure-core pipeline policy for blob clients (pass as ``retry_policy=``).

    Every request and its retries end within ``timeouts.total`` seconds."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError

    from cloudml_edu.storage._sdk_internals import storage_retry_policy

    class BlobRetryPolicy(storage_retry_policy()):  # type: ignore[misc]
        def __init__(self) -> None:
            retries = settings.attempts - 1
            super().__init__(
                retry_total=retries, retry_connect=retries, retry_read=retries, retry_status=retries
            )

        def _again(
            self,
            state: dict[str, Any],
            request: PipelineRequest[Any],
            deadline: float,
            response: PipelineResponse[Any, Any] | None = None,
            error: AzureError | None = None,
        ) -> bool:
            http_response = response.http_response if response is not None else None
            if not self.increment(
                state, request=request.http_request, response=http_response, error=error
            ):
                return False
            wait = min(settings.max_backoff, settings.backoff * 2 ** (state["count"] - 1))
            wait = random.uniform(wait / 2, wait)
            asked = None
            if http_response is not None:
                asked = retry_after(http_response.headers)
                http_response.close()  # a streamed error body would pin its connection
            if asked is not None:
                wait = max(wait, asked)
            if time.monotonic() + wait > deadline:
                return False
            time.sleep(wait)
            return True

        def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
            state = self.configure_retries(request)
            deadline = time.monotonic() + timeouts.total
            while True:
                left = max(deadline - time.monotonic(), 0.01)
                # read by azure-core's transport for this try only
                request.context.options["connection_timeout"] = min(timeouts.connect, left)
                request.context.options["read_timeout"] = min(timeouts.read, left)
                try:
                    response: PipelineResponse[Any, Any] = self.next.send(request)
                except AzureError as err:
                    if isinstance(err, ClientAuthenticationError) or not self._again(
                        state, request, deadline, error=err
                    ):
                        raise
                    continue
                status = response.http_response.status_code
                code = response.http_response.headers.get("x-ms-error-code", "")
                if (
                    status not in RETRY_STATUSES
                    or error_class(status, code) is QuotaError  # waiting does not bring it back
                    or not self._again(state, request, deadline, response=response)
                ):
                    response.http_response.location_mode = state["mode"]  # the SDK reads it
                    return response

    return BlobRetryPolicy()
