"""``share``: post a service's alias, with a *Request endpoint* button, to a channel.

``share`` is answered at once, with no queued operation to dedupe it by delivery, and a second
card in a channel is noise people act on twice. So the first share of a service to a channel
takes a mark for ``REPEAT_SECONDS`` (a lease, atomic across threads and processes): a replayed
delivery, a double submission or a second share within that window is told that the card is
already on its way instead of posting another. (A post Slack refused still holds the mark: the
person was told why, and is told when to share again.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage import leases, services
from storage.records import Lease

from ..context import Context
from ..escapes import escape
from ..replies import Refusal, Reply, ShareCard
from ..usecase import Payload

REPEAT_SECONDS = 60


@dataclass(frozen=True)
class Share(Payload):
    TARGET = "service"
    service: str
    channel: str | None = None


def answer(ctx: Context, payload: Share) -> ShareCard | Refusal | Reply:
    service = services.get_service(ctx.db, payload.service)
    assert service is not None  # the row's finder refused an unknown service
    where = payload.channel or ctx.channel
    if where is None:
        return Refusal("say which channel to share it in.", usage=f"/natlink share {service.name} #channel")
    cannot = ctx.cannot_post(where)
    if cannot and cannot[0]:
        return Refusal(f"{cannot[1]}, then share again.")
    mark = f"share:{service.name.lower()}:{where}"
    if leases.once(ctx.db, mark, timedelta(seconds=REPEAT_SECONDS)) is None:
        return _already(service.name, where, leases.current(ctx.db, mark))
    return ShareCard(service, where)


def _already(name: str, channel: str, earlier: Lease | None) -> Reply:
    """Why no second card: when the first was shared, and when another may be."""
    now = datetime.now(UTC)
    ago = int((now - earlier.acquired_at).total_seconds()) if earlier else 0
    wait = max(int((earlier.expires_at - now).total_seconds()) + 1, 1) if earlier else 1
    return Reply(
        "Already shared",
        (
            f"A card for *{escape(name)}* was sent to <#{channel}> {ago} s ago; no second one is posted.",
            f"If it did not arrive (you were told why then), share it again in {wait} s.",
        ),
    )
