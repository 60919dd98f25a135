"""``natlink manifest``: app.yaml with a deployment's own URL (or Socket Mode) filled in.

The manifest is edited as text, not re-serialised, so its comments and layout survive.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

MANIFEST = Path(__file__).resolve().parent.parent / "app.yaml"
PLACEHOLDER = "https://natlink.example.com"


class ManifestError(ValueError):
    """A URL that Slack would refuse as a request URL."""


def render(base_url: str | None, socket_mode: bool = False) -> str:
    """The manifest for ``base_url`` (https, no path), or for Socket Mode where Slack needs no URL."""
    text = MANIFEST.read_text()
    if socket_mode:
        lines = [line for line in text.splitlines() if f"{PLACEHOLDER}/" not in line]
        return "\n".join(lines).replace("socket_mode_enabled: false", "socket_mode_enabled: true") + "\n"
    if base_url is None:
        raise ManifestError("--url is required unless --socket-mode is given")
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ManifestError(
            f"--url must be an https origin such as https://natlink.example.com, not {base_url!r}"
        )
    return text.replace(PLACEHOLDER, base_url.rstrip("/"))


def bot_scopes() -> tuple[str, ...]:
    """The bot scopes app.yaml asks for: the one list ``natlink doctor`` checks a workspace's grant
    against, so the manifest and the check cannot disagree. Read as text (PyYAML is a test-only
    dependency): the items of ``oauth_config.scopes.bot``."""
    lines = MANIFEST.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "bot:") + 1
    items = []
    for line in lines[start:]:
        if not line.strip().startswith("- "):
            break
        items.append(line.strip().removeprefix("- ").strip())
    return tuple(items)
