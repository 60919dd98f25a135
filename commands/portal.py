"""Links to the Azure portal, the one place they are built: every Azure resource natlink names
(service, VM, load balancer, endpoint, subnet) opens where it lives, as AWS's chat integrations
link to their console (issue 12).

A link is ``https://portal.azure.com/#@<tenant>/resource<id>``; the tenant (AZURE_TENANT_ID) comes
from settings (``Config.portal``), so the portal opens the directory that holds the resource. In
mrkdwn a link is ``<url|label>``: the label is escaped as any text (``commands.escapes``), and a
``|`` or ``>`` in it would end it early, so those never reach it (Azure names cannot hold ``<>|``
anyway; a name read from elsewhere is made safe all the same). The URL is made safe the other
way, by percent-encoding: a ``|``, ``<``, ``>`` or space in it would end or break the link.
"""

from __future__ import annotations

from .escapes import escape

_LABEL_SAFE = str.maketrans({"|": "\u01c0"})  # a look-alike: Slack would end the link's label at "|"
_URL_SAFE = str.maketrans({"|": "%7C", "<": "%3C", ">": "%3E", " ": "%20"})  # what would end a mrkdwn link


def url(home: str, resource_id: str) -> str:
    """The portal page of one Azure resource."""
    return f"{home}/resource{resource_id}".translate(_URL_SAFE)


def named(home: str | None, resource_id: str | None, name: str) -> str:
    """``name`` linked to its portal page when natlink knows the portal and the ID; else escaped text."""
    return link(home, resource_id, name) if home else escape(name)


def link(home: str, resource_id: str | None, name: str) -> str:
    """``name`` as mrkdwn that opens the resource in the portal; plain escaped text without an ID."""
    label = escape(name).translate(_LABEL_SAFE)
    if not resource_id:
        return label
    return f"<{escape(url(home, resource_id))}|{label}>"
