"""Files: Slack's upload flow since ``files.upload`` was retired, and the files it stores.

``files.upload`` stopped working on March 11, 2025 (api.slack.com/methods/files.upload; the
changelog "2024-04-a-better-way-to-upload-files-is-here-to-stay"; slack-go/slack#1300). An upload
is now three steps (docs.slack.dev/reference/methods/files.getUploadURLExternal, "Usage info"):

1. ``files.getUploadURLExternal`` (``filename``, ``length`` in bytes) answers an ``upload_url`` and
   a ``file_id``; ``length`` 0 or missing is ``missing_argument`` ("Typically only occurs when the
   length provided is 0", the method's error table);
2. the file's bytes are POSTed to that URL (raw bytes or a multipart form; Slack answers 200);
3. ``files.completeUploadExternal`` (``files``: a JSON array of ``{"id", "title"}``, required;
   ``channel_id`` optional: without it the file stays private) finishes the upload and shares it.

Both methods need the bot scope ``files:write`` (each method's page, "Scopes"; ``api.SCOPES``). The stand-in
serves the upload URL itself on 127.0.0.1 and keeps each file's bytes as text, so the page and the
tests can read what natlink uploaded.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import SlackError
from .world import BOT_USER_ID, Json, World, public, random_id

UPLOAD_PATH = "/upload/v1/"
MAX_BYTES = 1_000_000_000  # Slack's file size limit: 1 GB (docs.slack.dev, "Working with files")


def get_upload_url(world: World, args: Json) -> Json:
    """Step 1: a file id and the URL to POST its bytes to."""
    name = args.get("filename")
    if not isinstance(name, str) or not name.strip():
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: filename"])
    try:
        length = int(args.get("length") or 0)
    except (TypeError, ValueError):
        raise SlackError("invalid_arguments", ["[ERROR] length must be an integer"]) from None
    if length <= 0:
        raise SlackError("missing_argument")
    if length > MAX_BYTES:
        raise SlackError("file_upload_size_restricted")
    file_id = random_id("F")
    world.files[file_id] = {
        "id": file_id,
        "name": name,
        "title": name,
        "length": length,
        "content": None,
        "size": 0,
        "uploaded": False,
        "completed": False,
        "channels": [],
        "user": BOT_USER_ID,
        "created": int(float(world.next_ts())),
    }
    return {"ok": True, "upload_url": f"{world.base_url}{UPLOAD_PATH}{file_id}", "file_id": file_id}


def receive(world: World, file_id: str, raw: bytes) -> None:
    """Step 2: the bytes POSTed to the upload URL; a URL is used once, before completion."""
    with world.lock:
        record = world.files.get(file_id)
        if record is None or record["completed"]:
            raise SlackError("invalid_upload_url", status=404)
        record["content"] = _text(raw)
        record["size"] = len(raw)
        record["uploaded"] = True
        world.save()


def _text(raw: bytes) -> str:
    """The file's bytes as text; a multipart form (``-F file=@x.csv``) is unwrapped to its part."""
    text = raw.decode("utf-8", "replace")
    if text.startswith("--") and "\r\n\r\n" in text:
        boundary = text.split("\r\n", 1)[0]
        body = text.split("\r\n\r\n", 1)[1]
        return body.split(f"\r\n{boundary}", 1)[0]
    return text


def to_complete(world: World, value: Any) -> list[tuple[Json, Json]]:
    """Step 3's ``files``: each named file with its item, all uploaded; nothing is changed yet."""
    found = []
    for item in _files_arg(value):
        record = world.files.get(item["id"])
        if record is None or not record["uploaded"]:
            # an id Slack never issued, or one whose bytes never arrived: Slack cannot finish it
            raise SlackError("file_not_found")
        found.append((record, item))
    return found


def complete(records: list[tuple[Json, Json]], channel: str | None) -> list[Json]:
    """Finish the uploads, shared in ``channel`` (or private); the file objects Slack answers with."""
    for record, item in records:
        record["completed"] = True
        record["title"] = str(item.get("title") or record["name"])
        if channel is not None:
            record["channels"].append(channel)
    return [shown(record) for record, _ in records]


def _files_arg(value: Any) -> list[Json]:
    """``files`` is required: a JSON array (or its string) of objects with an ``id``."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SlackError("invalid_arguments", ["[ERROR] files must be a JSON array"]) from None
    if not isinstance(value, list) or not value:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: files"])
    if not all(isinstance(f, dict) and isinstance(f.get("id"), str) for f in value):
        raise SlackError("invalid_arguments", ["[ERROR] each file needs an id"])
    return value


def shown(record: Json) -> Json:
    """A file object as Slack returns it (without the bytes, which the page fetches by id)."""
    shown = public({k: v for k, v in record.items() if k not in ("content", "uploaded", "completed")})
    return shown | {"mimetype": "text/csv" if record["name"].endswith(".csv") else "text/plain"}
