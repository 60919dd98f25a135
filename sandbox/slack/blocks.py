"""Block Kit validation with Slack's limits and Slack's error messages.

A bot that only ever meets a lenient stand-in ships blocks that real Slack refuses. These checks
are the limits Slack documents for the blocks natlink uses, and each failure is reported as
Slack reports it: ``[ERROR] <what> [json-pointer:/blocks/0/text/text]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MESSAGE_LIMIT = 50
MODAL_LIMIT = 100
TEXT_TYPES = ("plain_text", "mrkdwn")
ELEMENT_TYPES = {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "email_text_input",
    "external_select",
    "image",
    "multi_conversations_select",
    "multi_channels_select",
    "multi_external_select",
    "multi_static_select",
    "multi_users_select",
    "number_input",
    "overflow",
    "plain_text_input",
    "radio_buttons",
    "conversations_select",
    "channels_select",
    "static_select",
    "timepicker",
    "url_text_input",
    "users_select",
    "file_input",
    "rich_text_input",
}
_NEEDS_OPTIONS = {"static_select", "multi_static_select", "overflow", "radio_buttons", "checkboxes"}


class _Check:
    """Walks one list of blocks and collects every failure with its JSON pointer."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.errors: list[str] = []

    def fail(self, pointer: str, message: str) -> None:
        self.errors.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def require(self, obj: dict[str, Any], key: str, pointer: str) -> bool:
        if key not in obj or obj[key] is None:
            self.fail(pointer, f"missing required field: {key}")
            return False
        return True

    def length(self, value: Any, pointer: str, most: int, least: int = 1) -> None:
        if not isinstance(value, str):
            self.fail(pointer, "must be a string")
        elif len(value) > most:
            self.fail(pointer, f"must be less than {most + 1} characters")
        elif len(value) < least:
            self.fail(pointer, f"must be more than {least - 1} characters")

    def items(self, value: Any, pointer: str, most: int, least: int = 1) -> list[Any]:
        if not isinstance(value, list):
            self.fail(pointer, "must provide an array")
            return []
        if len(value) > most:
            self.fail(pointer, f"no more than {most} items allowed")
        elif len(value) < least:
            self.fail(pointer, f"must provide at least {least} items")
        return value

    def text(self, obj: Any, pointer: str, most: int, *, plain: bool = False) -> None:
        """A composition text object: ``{"type": "plain_text"|"mrkdwn", "text": ...}``."""
        if not isinstance(obj, dict):
            self.fail(pointer, "must provide an object")
            return
        if self.require(obj, "type", pointer):
            allowed = ("plain_text",) if plain else TEXT_TYPES
            if obj["type"] not in allowed:
                self.fail(f"{pointer}/type", "must be one of the provided values")
        if self.require(obj, "text", pointer):
            self.length(obj["text"], f"{pointer}/text", most)

    def style(self, obj: dict[str, Any], pointer: str) -> None:
        if "style" in obj and obj["style"] not in ("primary", "danger"):
            self.fail(f"{pointer}/style", "must be one of the provided values")

    def confirm(self, obj: Any, pointer: str) -> None:
        if not isinstance(obj, dict):
            self.fail(pointer, "must provide an object")
            return
        for key, most in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
            if self.require(obj, key, pointer):
                self.text(obj[key], f"{pointer}/{key}", most, plain=key != "text")
        self.style(obj, pointer)

    def unique_id(self, obj: dict[str, Any], field: str, pointer: str, seen: set[str]) -> None:
        """An optional ``block_id`` or ``action_id``: at most 255 characters, and unique where Slack wants it.

        Block Kit, block object field ``block_id``: "should be unique for each message and each
        iteration of a message"; Slack refuses a message with two blocks of one id (``invalid_blocks``).
        An ``action_id`` is unique within its block ("should be unique among all other action_ids
        in the containing block")."""
        if field not in obj:
            return
        self.length(obj[field], f"{pointer}/{field}", 255)
        if obj[field] in seen:
            self.fail(f"{pointer}/{field}", f"duplicate {field}: {obj[field]}")
        seen.add(obj[field])

    def element(self, obj: Any, pointer: str, action_ids: set[str]) -> None:
        """An interactive element; buttons are checked in full, the rest for their common keys."""
        if not isinstance(obj, dict):
            self.fail(pointer, "must provide an object")
            return
        kind = obj.get("type")
        if kind not in ELEMENT_TYPES:
            self.fail(f"{pointer}/type", f"unsupported type: {kind}")
            return
        self.unique_id(obj, "action_id", pointer, action_ids)
        if "confirm" in obj:
            self.confirm(obj["confirm"], f"{pointer}/confirm")
        if kind == "button":
            if self.require(obj, "text", pointer):
                self.text(obj["text"], f"{pointer}/text", 75, plain=True)
            if "value" in obj:
                self.length(obj["value"], f"{pointer}/value", 2000)
            if "url" in obj:
                self.length(obj["url"], f"{pointer}/url", 3000)
            self.style(obj, pointer)
        elif kind == "image":
            self.image(obj, pointer)
        elif kind in _NEEDS_OPTIONS and "option_groups" not in obj:
            self.require(obj, "options", pointer)
        if kind in ("external_select", "multi_external_select"):
            self.external(obj, pointer)

    def external(self, obj: dict[str, Any], pointer: str) -> None:
        """A select whose options the app serves (Block Kit, select menu element "external_select"):
        ``min_query_length`` a whole number, a plain_text placeholder of at most 150 characters."""
        if "min_query_length" in obj:
            value = obj["min_query_length"]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                self.fail(f"{pointer}/min_query_length", "must be a non-negative integer")
        if "placeholder" in obj:
            self.text(obj["placeholder"], f"{pointer}/placeholder", 150, plain=True)

    def image(self, obj: dict[str, Any], pointer: str) -> None:
        if "slack_file" not in obj and self.require(obj, "image_url", pointer):
            self.length(obj["image_url"], f"{pointer}/image_url", 3000)
        if self.require(obj, "alt_text", pointer):
            self.length(obj["alt_text"], f"{pointer}/alt_text", 2000)

    # One method per block type; each gets the block and its pointer.

    def section(self, block: dict[str, Any], at: str) -> None:
        if "text" not in block and "fields" not in block:
            self.fail(at, "missing required field: text")
        if "text" in block:
            self.text(block["text"], f"{at}/text", 3000)
        if "fields" in block:
            for i, field in enumerate(self.items(block["fields"], f"{at}/fields", 10)):
                self.text(field, f"{at}/fields/{i}", 2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{at}/accessory", set())

    def header(self, block: dict[str, Any], at: str) -> None:
        if self.require(block, "text", at):
            self.text(block["text"], f"{at}/text", 150, plain=True)

    def actions(self, block: dict[str, Any], at: str) -> None:
        if self.require(block, "elements", at):
            seen: set[str] = set()
            for i, element in enumerate(self.items(block["elements"], f"{at}/elements", 25)):
                self.element(element, f"{at}/elements/{i}", seen)

    def context(self, block: dict[str, Any], at: str) -> None:
        if self.require(block, "elements", at):
            for i, element in enumerate(self.items(block["elements"], f"{at}/elements", 10)):
                where = f"{at}/elements/{i}"
                if isinstance(element, dict) and element.get("type") == "image":
                    self.image(element, where)
                else:
                    self.text(element, where, 3000)

    def divider(self, block: dict[str, Any], at: str) -> None:
        """A divider has nothing to check beyond its block_id."""

    def image_block(self, block: dict[str, Any], at: str) -> None:
        self.image(block, at)
        if "title" in block:
            self.text(block["title"], f"{at}/title", 2000, plain=True)

    def input(self, block: dict[str, Any], at: str) -> None:
        if self.require(block, "label", at):
            self.text(block["label"], f"{at}/label", 2000, plain=True)
        if self.require(block, "element", at):
            self.element(block["element"], f"{at}/element", set())
        if "hint" in block:
            self.text(block["hint"], f"{at}/hint", 2000, plain=True)

    def rich_text(self, block: dict[str, Any], at: str) -> None:
        if self.require(block, "elements", at):
            self.items(block["elements"], f"{at}/elements", 1000, least=0)

    def markdown(self, block: dict[str, Any], at: str) -> None:
        if self.require(block, "text", at):
            self.length(block["text"], f"{at}/text", 12000)

    def blocks(self, blocks: list[Any], limit: int) -> None:
        handlers: dict[str, Callable[[dict[str, Any], str], None]] = {
            "section": self.section,
            "header": self.header,
            "actions": self.actions,
            "context": self.context,
            "divider": self.divider,
            "image": self.image_block,
            "input": self.input,
            "rich_text": self.rich_text,
            "markdown": self.markdown,
        }
        if len(blocks) > limit:
            self.fail(self.root, f"no more than {limit} items allowed")
        block_ids: set[str] = set()
        for i, block in enumerate(blocks):
            at = f"{self.root}/{i}"
            if not isinstance(block, dict):
                self.fail(at, "must provide an object")
                continue
            handler = handlers.get(block.get("type"))  # type: ignore[arg-type]
            if handler is None:
                self.fail(f"{at}/type" if "type" in block else at, f"unsupported type: {block.get('type')}")
                continue
            self.unique_id(block, "block_id", at, block_ids)
            handler(block, at)


MESSAGE_TEXT_TOTAL = 12_000
"""All the text inside one message's blocks: Slack answers ``msg_blocks_too_long`` beyond about
12,000 characters, although each section is within 3,000 (observed: slackapi/bolt-js #2509, which
breaks near 13,200, and #2867, at 11,341 of section and header text; the markdown block documents
12,000 cumulative; shared/reference/slack-limits.md). The sandbox counts every text object's text."""


def text_total(value: Any) -> int:
    """The characters of every text object (``{"type": "mrkdwn"|"plain_text", "text": ...}``) in ``value``."""
    if isinstance(value, list):
        return sum(text_total(v) for v in value)
    if not isinstance(value, dict):
        return 0
    own = len(value["text"]) if value.get("type") in TEXT_TYPES and isinstance(value.get("text"), str) else 0
    return own + sum(text_total(v) for k, v in value.items() if k != "text" or not own)


def message_errors(blocks: list[Any]) -> list[str]:
    """Why Slack would refuse these blocks in a message (empty when it would accept them)."""
    check = _Check("/blocks")
    check.blocks(blocks, MESSAGE_LIMIT)
    return check.errors


def view_errors(view: Any) -> list[str]:
    """Why Slack would refuse this modal view (empty when it would accept it)."""
    check = _Check("/view/blocks")
    if not isinstance(view, dict):
        check.fail("/view", "must provide an object")
        return check.errors
    if view.get("type") not in ("modal", "home"):
        check.fail("/view/type", "must be one of the provided values")
    if view.get("type") == "modal":
        if check.require(view, "title", "/view"):
            check.text(view["title"], "/view/title", 24, plain=True)
        for key in ("submit", "close"):
            if key in view:
                check.text(view[key], f"/view/{key}", 24, plain=True)
    if "private_metadata" in view:
        check.length(view["private_metadata"], "/view/private_metadata", 3000, least=0)
    if "callback_id" in view:
        check.length(view["callback_id"], "/view/callback_id", 255, least=0)
    if check.require(view, "blocks", "/view"):
        if isinstance(view["blocks"], list):
            check.blocks(view["blocks"], MODAL_LIMIT)
        else:
            check.fail("/view/blocks", "must provide an array")
    return check.errors
