"""One error hierarchy and one table from error to HTTP status; every body is {"detail": ...}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
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
}


def _detail(exc: Exception) -> str | dict:
    if isinstance(exc, ImportRejected):
        return {
            "message": str(exc),
            "problems": [{"row": row, "problem": text} for row, text in exc.problems],
            "rows_failed": exc.total,
        }
    return str(exc)


def add_error_handlers(app: FastAPI) -> None:
    for exc_class, code in STATUS.items():

        async def handler(request: Request, exc: Exception, code: int = code) -> JSONResponse:
            headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
            return JSONResponse({"detail": _detail(exc)}, status_code=code, headers=headers)

        app.add_exception_handler(exc_class, handler)
