"""The request form's listeners: the ways in (the share card's button, the global shortcut, the
message shortcut on natlink's own messages), its pickers' options, and its submission.

Every way in refuses someone without a ``request`` grant before the form opens, naming the admins
(``commands.form.may_open``, audited); a submission is judged while the form is still open, and
its mistakes are shown under the field they concern (``response_action: errors``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from commands import form
from commands.handle import Delivery, handle
from commands.replies import Queued, Refusal

from . import slack_out, views
from .listeners import Deps, _open

log = logging.getLogger("natlink.request_form")

ERROR_MAX = 150
"""Keep an error under its field short enough to read whole (Slack shows it under the input)."""


def register(app: App, deps: Deps) -> None:
    app.action(views.REQUEST_ENDPOINT)(lambda ack, body, client: _from_button(deps, ack, body, client))
    app.shortcut(views.REQUEST_SHORTCUT)(lambda ack, body, client: _from_shortcut(deps, ack, body, client))
    app.shortcut(views.MESSAGE_SHORTCUT)(
        lambda ack, body, client, context: _from_message(deps, ack, body, client, context)
    )
    app.options(views.VM_PICKER)(lambda ack, body: _places(deps, ack, body, form.VM))
    app.options(views.SUBNET_PICKER)(lambda ack, body: _places(deps, ack, body, form.SUBNET))
    app.options(views.SERVICE_PICKER)(lambda ack, body: _services(deps, ack, body))
    app.view(views.REQUEST_MODAL)(lambda ack, body, view, client: _submitted(deps, ack, body, view, client))


def _from_button(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    channel = (body.get("channel") or {}).get("id")
    _open_form(deps, client, body, body["actions"][0]["value"], channel)


def _from_shortcut(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The global shortcut comes from no channel (Slack sends none): the form picks the service,
    and the request's answers come by DM."""
    ack()
    _open_form(deps, client, body, None, None)


def _from_message(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """On natlink's own message about a service or a request: the form for that service. On anyone
    else's message, or one about nothing in particular, a private word saying so."""
    ack()
    message, user = body.get("message") or {}, body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    ours = message.get("user") == context.bot_user_id or (
        context.bot_id is not None and message.get("bot_id") == context.bot_id
    )
    subject = views.subject_of(message) if ours else None
    if subject is None:
        problem = (
            "That message is not about one service or request: use the shortcut on a service's card "
            "or an approval card, or the global shortcut *Request private endpoint*."
            if ours
            else "natlink acts only on its own messages: use the shortcut on one of natlink's cards."
        )
        _tell(client, body, channel, Refusal(problem))
        return
    found = form.service_about(deps.context(user, channel), *subject)
    if isinstance(found, Refusal):
        _tell(client, body, channel, found)
        return
    _open_form(deps, client, body, found, channel)


def _open_form(
    deps: Deps, client: WebClient, body: dict[str, Any], service: str | None, channel: str | None
) -> None:
    user = body["user"]["id"]
    refusal = form.may_open(deps.context(user, channel), service)
    if refusal is not None:
        _tell(client, body, channel, refusal)
        return
    if deps.catalog is not None:
        deps.catalog.warm()
    _open(client, body, views.request_modal(service, channel or ""))


def _tell(client: WebClient, body: dict[str, Any], channel: str | None, refusal: Refusal) -> None:
    """Privately: through the message shortcut's response URL, else ephemerally, else by DM (a
    global shortcut has neither channel nor response URL)."""
    user = body["user"]["id"]
    if slack_out.private(client, user, channel, body.get("response_url"), slack_out.render(refusal)):
        log.error("%s could not be told by any means that %s", user, refusal.reason)


def _places(deps: Deps, ack: Ack, body: dict[str, Any], kind: str) -> None:
    """The VMs or subnets the person may use, matching what they typed, within Slack's 3 seconds.
    Slack has no way to show an error in a picker: a failed read answers no options and is logged,
    and the submission then says what failed, in the form."""
    assert deps.catalog is not None
    try:
        groups = form.options(
            deps.context(body["user"]["id"], None), deps.catalog, kind, body.get("value") or ""
        )
    except form.Unavailable as error:
        log.warning("options for %s: %s", kind, error)
        groups = []
    if groups:
        ack(option_groups=views.option_groups((g.subscription, g.options) for g in groups))
    else:
        ack(options=[])


def _services(deps: Deps, ack: Ack, body: dict[str, Any]) -> None:
    names = form.service_options(deps.context(body["user"]["id"], None), body.get("value") or "")
    ack(options=[views.option(name, name) for name in names])


def _submitted(deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
    """Judge the form while it is open; what passes is the ``request`` command, on its usual path."""
    service, channel = view["private_metadata"].split("|")
    values = view["state"]["values"]
    ctx = deps.context(body["user"]["id"], channel or None)
    submission = form.Submission(
        service=service or _picked(values, "service", views.SERVICE_PICKER) or "",
        vm=_picked(values, "vm", views.VM_PICKER),
        subnet=_picked(values, "subnet", views.SUBNET_PICKER),
        reason=(((values.get("reason") or {}).get("value") or {}).get("value") or "").strip(),
    )
    assert deps.catalog is not None
    judged = form.judge(ctx, deps.catalog, submission)
    if isinstance(judged, dict):
        ack(response_action="errors", errors={k: _field_error(v) for k, v in judged.items()})
        _name_admins(client, body, channel, judged.values())
        return
    answer = handle(ctx, judged, Delivery(key=f"view:{view['id']}"))
    if isinstance(answer, Refusal):
        field = "reason" if "--reason" in answer.reason else "vm" if submission.vm else "subnet"
        about_service = "<target>" in answer.reason or "service" in answer.reason.lower()
        field = "service" if not service and about_service else field
        ack(response_action="errors", errors={field: _field_error(answer.reason)})
        _name_admins(client, body, channel, (answer.reason,))
        return
    ack()
    if isinstance(answer, Queued):
        deps.wake()


def _field_error(mrkdwn: str) -> str:
    """An error under a field is plain text: Slack renders no mentions there, so the admins it
    names are left out of it ("ask an admin") and named in a private message (``_name_admins``)."""
    return views.cut(views.unmarked(mrkdwn), ERROR_MAX)


def _name_admins(client: WebClient, body: dict[str, Any], channel: str, errors: Iterable[str]) -> None:
    """The admins a form error sends the person to, as mentions they can click, privately: the
    error under the field is plain text answered within the ack's 3 seconds, so it names nobody
    rather than wait on users.info (bot/names.py names people only in messages natlink posts)."""
    named = [e for e in errors if "<@" in e]
    if named:
        _tell(client, body, channel or None, Refusal(named[0]))


def _picked(values: dict[str, Any], block: str, action: str) -> str | None:
    """An external select's choice, as Slack sends it in view_submission state: selected_option.value."""
    return (((values.get(block) or {}).get(action) or {}).get("selected_option") or {}).get("value")
