"""One error hierarchy and one table from error to HTTP status; every body is {"detail": ...}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, ProgrammingError
from starlette import status

from beatbook.ingest import ImportRejected


class BeatbookError(Exception):
    """Base of the errors the API reports to its caller."""


class NotFound(BeatbookError):
    pass


class InvalidInput(BeatbookError):
    pass


class Unauthorized(BeatbookError):
    pass


class Forbidden(BeatbookError):
    pass


class Conflict(BeatbookError):
    pass


class PayloadTooLarge(BeatbookError):
    pass


class TooManyRequests(BeatbookError):
    def __init__(self, message: str, *, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


def answer_or_422(run):
    """Run an analysis or a plan: a ValueError from it says what to change in the request."""
    try:
        return run()
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


STATUS = {
    NotFound: status.HTTP_404_NOT_FOUND,
    InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
    ImportRejected: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Unauthorized: status.HTTP_401_UNAUTHORIZED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    PayloadTooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    # A data exception (SQLSTATE class 22: a number past bigint, a NUL in text) is a value the
    # request sent that no column or comparison can take; the routes pass values on unchecked.
    DataError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    TooManyRequests: status.HTTP_429_TOO_MANY_REQUESTS,
}


def _detail(exc: Exception) -> str | dict:
    if isinstance(exc, ImportRejected):
        return {
            "message": str(exc),
            "problems": [{"row": row, "problem": text} for row, text in exc.problems],
            "rows_failed": exc.total,
        }
    if isinstance(exc, DataError):
        reason = str(exc.orig).partition("\n")[0]
        return f"a value in the request is out of range or malformed: {reason}"
    return str(exc)


log = logging.getLogger("beatbook.api")

# SQLSTATE insufficient_privilege: the database's grants or row policies refused the query.
REFUSED_BY_DATABASE = "42501"


async def _refused_by_database(request: Request, exc: ProgrammingError) -> JSONResponse:
    """A route that reached past its user's rights: the database said no, so the answer is 403
    (and the cause, a missing check in the route, is in the server's log)."""
    if getattr(exc.orig, "sqlstate", None) != REFUSED_BY_DATABASE:
        raise exc
    log.warning("the database refused %s %s: %s", request.method, request.url.path, exc.orig)
    return JSONResponse({"detail": "the database refused: these records lie outside the beats you "
                                   "may see, or your role may not read or change them"},
                        status_code=status.HTTP_403_FORBIDDEN)


def error_response(exc: Exception) -> JSONResponse:
    """The answer to an error. A route returns it instead of raising when what it wrote must
    stay (a failed login is counted even though the login fails)."""
    code = next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)
    headers = {}
    if code == status.HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse({"detail": _detail(exc)}, status_code=code, headers=headers or None)


async def _answer(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)


def add_error_handlers(app: FastAPI) -> None:
    for exc_class in STATUS:
        app.add_exception_handler(exc_class, _answer)
    app.add_exception_handler(ProgrammingError, _refused_by_database)
