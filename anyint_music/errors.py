"""The exceptions anyint-music raises. Every one derives from :class:`AnyIntError`.

The tree::

    AnyIntError
    ├── ConfigurationError (also ValueError)  -- the client cannot be built as asked
    ├── InvalidRequestError (also ValueError) -- refused before anything was sent
    ├── ClientStateError (also RuntimeError)  -- the client cannot do this in its state
    │   └── ClientClosedError                 -- the client is not open, or already closed
    ├── APIConnectionError (.sent)            -- the gateway was not reached, or its answer lost
    ├── APIError (.status, .code, .message)   -- the gateway refused or answered nonsense
    │   ├── BadRequestError                   -- 400/404/409/413/422/451: fix the request
    │   │   └── ConflictError                 -- 409: it exists already (a WAV, a persona)
    │   ├── AuthenticationError               -- 401: check ANYINT_API_KEY
    │   ├── PermissionDeniedError             -- 403: the key may not use this route or model
    │   ├── RateLimitError                    -- HTTP 429 or body 405/430: slow down
    │   ├── InsufficientCreditsError          -- body 429 or 402: top up the account
    │   ├── ServerError                       -- 5xx, body 455/500/503: try again later
    │   └── MalformedResponseError            -- the answer was not the documented shape
    ├── SubmitUncertainError (.route, .token)  -- a submit may have created a task; not re-sent
    ├── StoreError                            -- the task store is unavailable; nothing was sent
    ├── DownloadError (.url)                  -- a result file could not be saved
    ├── CallbackUnreachableError (.url)       -- check_callbacks(): the receiver was not reached
    ├── TaskFailedError (.task_id, .code, .message) -- the service reported the task failed
    ├── TaskTimeoutError (also TimeoutError)  -- no final result within the timeout
    └── ReceiverClosedError                   -- the client closed while a wait was pending
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "AnyIntError",
    "AuthenticationError",
    "BadRequestError",
    "CallbackUnreachableError",
    "ClientClosedError",
    "ClientStateError",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "InsufficientCreditsError",
    "InvalidRequestError",
    "MalformedResponseError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReceiverClosedError",
    "ServerError",
    "StoreError",
    "SubmitUncertainError",
    "TaskFailedError",
    "TaskTimeoutError",
]


class AnyIntError(Exception):
    """Root of every exception raised by anyint-music."""


class ConfigurationError(AnyIntError, ValueError):
    """The client was built with settings it cannot work with (e.g. no API key)."""


class InvalidRequestError(AnyIntError, ValueError):
    """The arguments break a documented rule; nothing was sent to the gateway.

    Attributes:
        field: the argument at fault (snake_case), or ``None`` when several are.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ClientStateError(AnyIntError, RuntimeError):
    """The client cannot do this in its present state (e.g. ``async with`` entered twice)."""


class ClientClosedError(ClientStateError):
    """The client is not open (use ``async with``) or was already closed."""


class APIConnectionError(AnyIntError):
    """The gateway could not be reached, or its answer was lost on the way back.

    Attributes:
        sent: whether the request may have reached the gateway; if so a task (and its cost)
            may exist even though no task id came back.
    """

    def __init__(self, message: str, *, sent: bool) -> None:
        self.sent = sent
        super().__init__(message)


class APIError(AnyIntError):
    """The gateway did not accept the request.

    Attributes:
        status: the HTTP status of the answer (200 when the refusal was inside the body).
        code: the ``code`` of the body (a number in the upstream envelope, a string such as
            ``"rate_limit_exceeded"`` in AnyInt's ``{"error": ...}`` envelope), else the status.
        message: the gateway's own words.
        data: the ``data`` member of the answer, when it had one (e.g. an existing task id).
        retry_after: seconds the gateway asked to wait before trying again, when it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | str | None = None,
        data: Any = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.code = status if code is None else code
        self.message = message
        self.data = data
        self.retry_after: float | None = None
        # Set when the refusal came as the service's own {code, msg, data} answer.
        self.from_envelope = False
        # Set when it came in either of the gateway's own error bodies, not as a bare status
        # (a proxy's error page, say).
        self.from_gateway = False
        text = f"{message} (HTTP {status}, code {self.code})"
        super().__init__(f"{text}. {hint}" if hint else text)


class BadRequestError(APIError):
    """The gateway judged the request invalid; change it before sending it again."""


class ConflictError(BadRequestError):
    """The service already has what was asked for (409): one WAV and one persona per track."""


class AuthenticationError(APIError):
    """The API key is missing, wrong or revoked."""


class PermissionDeniedError(APIError):
    """The key is valid but may not use this route, model or feature."""


class RateLimitError(APIError):
    """Too many requests in a short time; wait and retry."""


class InsufficientCreditsError(APIError):
    """The account has no credits (or quota) left for this request."""


class ServerError(APIError):
    """The gateway or its upstream failed or is under maintenance; retry later."""


class MalformedResponseError(APIError):
    """The gateway answered, but not in any documented shape."""


class SubmitUncertainError(AnyIntError):
    """A task-creating request may have created a task, but no task id came back.

    Its answer was lost, or the gateway failed in a way that does not rule a task out (a 5xx
    other than 503, a success without a task id, a cancelled submit). It was NOT sent again: that
    could create a second paid job. If the task exists, the service still delivers its callbacks
    to this client: ``await client.recover(error)`` returns its handle.

    Attributes:
        route: the route that was called, e.g. ``/suno/generate``.
        cause: the failure behind it.
        token: the callback token of this submit.
    """

    def __init__(self, route: str, cause: BaseException, token: str | None = None) -> None:
        self.route = route
        self.cause = cause
        self.token = token
        super().__init__(
            f"{route}: {cause}. A task may have been created (and charged), so the request was "
            "not sent again. If it exists its callbacks still come to this client: "
            "'await client.recover(error)' returns its handle; otherwise check your AnyInt "
            "dashboard before submitting again."
        )


class StoreError(AnyIntError):
    """The task store (e.g. Redis) could not be used; the request was not sent."""


class DownloadError(AnyIntError):
    """A result file could not be downloaded; nothing was left at the destination.

    Attributes:
        url: the file's URL.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(
            f"could not download {url}: {reason}. Result URLs expire after about two weeks; "
            "if it is older, generate it again"
        )


class CallbackUnreachableError(AnyIntError):
    """A probe through ``public_url`` did not reach this client's receiver; the message names
    the cause and the fix.

    Attributes:
        url: the probe's address (its secret left out).
    """

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(message)


class TaskFailedError(AnyIntError):
    """The service reported that the task failed.

    Attributes:
        task_id: the failed task.
        code: the service's failure code (e.g. 400 content rejected, 501 generation failed,
            531 failed with credits refunded).
        message: the service's own words.
    """

    def __init__(self, task_id: str, code: int | None, message: str) -> None:
        self.task_id = task_id
        self.code = code
        self.message = message
        where = f" (code {code})" if code is not None else ""
        super().__init__(
            f"task {task_id} failed{where}: {message or 'no reason given'}{_failure_hint(code)}"
        )


def _failure_hint(code: int | None) -> str:
    if code == 531:
        return ". Credits were refunded; try again with a longer, more specific prompt."
    if code == 400:
        return (
            ". The content was rejected; rephrase the prompt "
            "(no artist names or copyrighted lyrics)."
        )
    if code in (408, 500, 501):
        return ". This is usually transient; submit the task again."
    return ""


class TaskTimeoutError(AnyIntError, TimeoutError):
    """No final result arrived within the timeout. The task may still finish.

    Attributes:
        task_id: the task waited for (``None`` if it had no id yet, or for several tasks).
        timeout: the seconds waited.
        pending: for a wait on several tasks (``as_completed``), the ids still without a final
            result.
    """

    def __init__(
        self,
        task_id: str | None,
        timeout: float,
        *,
        sent: bool = True,
        pending: tuple[str, ...] = (),
    ) -> None:
        self.task_id = task_id
        self.timeout = timeout
        self.pending = pending
        if pending:
            shown = ", ".join(pending[:10]) + (", ..." if len(pending) > 10 else "")
            super().__init__(
                f"{len(pending)} task(s) have no final result after {timeout:g} s: {shown}; "
                "they may still finish: wait again with client.task(task_id) or pass a larger "
                "timeout"
            )
            return
        if not sent:
            super().__init__(
                f"the time ran out ({timeout:g} s) before the submit could be sent (it waited "
                "for the client's rate limit or for a retry): no task was created. Submit "
                "again, or pass a larger timeout."
            )
            return
        if task_id is None:
            super().__init__(
                f"no task id within {timeout:g} s: the submit (or the first callback) did not "
                "come in time; a task may still exist. Pass a larger timeout."
            )
            return
        super().__init__(
            f"task {task_id} has no final result after {timeout:g} s; it may still finish: "
            f"wait again with client.task({task_id!r}).wait(timeout=...) or pass a larger timeout"
        )


class ReceiverClosedError(AnyIntError):
    """The client (and its callback receiver) closed while this wait was pending.

    Attributes:
        task_id: the task that was still pending (``None`` if it had no id yet).
    """

    def __init__(self, task_id: str | None) -> None:
        self.task_id = task_id
        super().__init__(
            f"the client closed before task {task_id} finished; keep the client open until the "
            f"wait returns, or re-attach later with client.task({task_id!r})"
        )
