"""Process-wide logging: readable text for people or one JSON object per line for log collectors.

The same ``logging.config.dictConfig`` serves the command line (``configure_logging``) and
uvicorn (``uvicorn_log_config``, passed as ``log_config`` so every worker process logs alike).

Privacy: log lines never carry personal data. The access log names the route template, never the
concrete path or query (``kindmap.api.security.loggable_path``); exceptions are logged by type and
traceback with their message withheld, because messages (SQL parameters, parse errors) can echo
user input such as a household's location.
"""

from __future__ import annotations

import json
import logging
import logging.config
import traceback
from datetime import datetime, timezone
from typing import Any

from kindmap.config import Settings
from kindmap.errors import InvalidQuery

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s  %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
WITHHELD = "(message withheld: it may hold personal data)"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}
# uvicorn adds a coloured copy of its messages; the plain message is already logged.
_IGNORED = frozenset({"color_message"})


def safe_exception(exc_info) -> str:
    """A traceback (where it happened) with the exception's message withheld (what it said)."""
    kind, _value, tb = exc_info
    return "Traceback (most recent call last):\n" + "".join(traceback.format_tb(tb)) + f"{kind.__qualname__} {WITHHELD}"


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT`` lines, with exception messages withheld."""

    def __init__(self, fmt: str = TEXT_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return safe_exception(ei)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, then any
    ``extra=`` fields (the access log adds ``method``, ``route``, ``status``, ``ms``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in _IGNORED and key not in entry:
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__qualname__
            entry["exception"] = safe_exception(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        # default=str: an extra field that JSON cannot hold (a Path, a datetime) still logs.
        return json.dumps(entry, ensure_ascii=False, default=str)


def uvicorn_log_config(settings: Settings) -> dict:
    """A ``logging.config.dictConfig`` for ``settings.log_format`` and ``settings.log_level``, in the
    shape uvicorn accepts as ``log_config`` (so each worker process configures itself the same way)."""
    # Settings validates both; checked again because model_copy(update=…) does not validate.
    if settings.log_format not in ("text", "json"):
        raise InvalidQuery(f"KINDMAP_LOG_FORMAT must be 'text' or 'json', not {settings.log_format!r}")
    if settings.log_level not in LEVELS:
        raise InvalidQuery(f"KINDMAP_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {settings.log_level!r}")
    formatter = ({"()": "kindmap.logs.JsonFormatter"} if settings.log_format == "json"
                 else {"()": "kindmap.logs.TextFormatter"})
    level = settings.log_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"kindmap": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "kindmap", "stream": "ext://sys.stderr"}},
        "loggers": {
            "kindmap": {"level": level, "handlers": [], "propagate": True},
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            # uvicorn's own access log prints the concrete path and query (ids, postcodes):
            # never let it through; kindmap.access logs requests instead.
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
        # Other libraries stay at WARNING whatever log_level says: SQLAlchemy logs SQL with its
        # parameters (coordinates, names) at INFO.
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }


def configure_logging(settings: Settings) -> None:
    """Configure this process's logging from ``settings`` (format 'text' or 'json', and level);
    raise ``InvalidQuery`` for a format or level it does not know."""
    logging.config.dictConfig(uvicorn_log_config(settings))
