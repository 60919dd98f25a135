"""natlink's log lines: text for people, or ``NATLINK_LOG_FORMAT=json`` for a log pipeline.

In JSON each line is one object, and every line logged while natlink works on an operation or a
person's request carries ``operation``, ``request`` and ``user``, so a pipeline can follow one
request from the click to Azure and back without parsing messages. Those come from context
variables set where the work starts (``bot/worker.py`` for operations, ``bot/listeners.py`` for
slash commands), so no call site has to pass them to its logger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_about: ContextVar[dict[str, str]] = ContextVar("natlink_log_context", default={})  # noqa: B039


@contextmanager
def about(**fields: object) -> Iterator[None]:
    """Lines logged inside carry these fields (None values are left out), on this thread."""
    token = _about.set(_about.get() | {k: str(v) for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        _about.reset(token)


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context fields, any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_about.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, fmt: str) -> None:
    """The root handler in ``fmt``; raises ValueError, naming the setting, for anything else."""
    if fmt not in FORMATS:
        raise ValueError(f"NATLINK_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    logging.basicConfig(level=level, format=TEXT)
    if fmt == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonLines())
