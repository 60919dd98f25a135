"""natlink's Block Kit: valid by Slack's rules (the sandbox's validator), escaped, and within limits."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

import pytest

from bot import views
from commands.replies import Turn
from sandbox.slack.blocks import MESSAGE_TEXT_TOTAL, message_errors, text_total, view_errors

FACTS = views.CardFacts(
    request_id="r-7k2m9x",
    service="rdp-vmb",
    requester="U0BOB",
    consumer_subscription="11111111-1111-1111-1111-111111111111",
    vnet="RG-normal-vnet",
    subnet="default",
    pe_name="pe-rdp-vmb",
    reason="<!channel> please <https://evil.example|click> & thanks",
    link_identifier="536890208",
)


def test_escape_defuses_mentions_and_links() -> None:
    assert (
        views.escape("<!channel> <@U1> <https://x|y> a&b")
        == "&lt;!channel&gt; &lt;@U1&gt; &lt;https://x|y&gt; a&amp;b"
    )


def test_a_reason_shows_its_formatting_characters_as_typed() -> None:
    """Issue 12: mrkdwn has no escape for ``*_~`` and backticks; a reason rendered them as formatting."""
    card = views.approval_card(views.CardFacts(**{**vars(FACTS), "reason": "*urgent* _now_ ~maybe~ `x"}))
    shown = str(card.blocks)
    assert "*urgent*" not in shown and "`x" not in shown and "_now_" not in shown and "~maybe~" not in shown
    assert "\u2217urgent\u2217" in shown and "\u02cbx" in shown
    assert views.escape("*name_with_underscores*") == "*name_with_underscores*", "names are left alone"


def test_approval_card_is_valid_and_escapes_the_reason() -> None:
    card = views.approval_card(FACTS)
    assert message_errors(card.blocks) == []
    text = str(card.blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    actions = next(b for b in card.blocks if b["type"] == "actions")
    approve, for_7, for_30, reject = actions["elements"]
    assert [(b["action_id"], b["value"]) for b in (for_7, for_30)] == [
        ("natlink_approve_7d", "r-7k2m9x"),
        ("natlink_approve_30d", "r-7k2m9x"),
    ]
    assert (approve["action_id"], approve["style"], approve["value"]) == (
        views.APPROVE,
        "primary",
        "r-7k2m9x",
    )
    assert (reject["action_id"], reject["style"]) == (views.REJECT, "danger")
    assert "confirm" not in reject, "Reject asks once, in its modal (issue 12)"
    # the requester stays a mention until bot/names.py names them as the card is sent
    assert card.text == "<@U0BOB> requests an endpoint to rdp-vmb (r-7k2m9x), waiting for approval"


def test_a_card_for_a_connection_made_outside_natlink_reads_as_words() -> None:
    """Its requester is the words "outside natlink", not a person: the lock screen must not read
    "outside natlink requests an endpoint"."""
    card = views.approval_card(dataclasses.replace(FACTS, requester="outside natlink"))
    assert (
        card.text == "An endpoint to rdp-vmb was requested outside natlink (r-7k2m9x), waiting for approval"
    )


def test_the_notification_text_reads_well_on_a_lock_screen() -> None:
    message = views.lines_message("rdp-vmb is exposed", ["Alias: `rdp-vmb.x.azure`", "Frontend 10.2.0.4"], "")
    assert message.text == "rdp-vmb is exposed: Alias: rdp-vmb.x.azure (+1 more)"


PORTAL = "https://portal.azure.com/#@41f6/resource/subscriptions/2222/resourceGroups/rg-team-b"


@pytest.mark.parametrize(
    ("title", "lines", "text"),
    [
        # list / status / map: a portal link reads as its label, not a raw URL (issue 12)
        (
            "Services you may request",
            [f"*<{PORTAL}/rdp-vmb|rdp-vmb>* (owner <@U0ALICE>): `rdp-vmb.x.azure`", "web-x"],
            "Services you may request: rdp-vmb (owner <@U0ALICE>): rdp-vmb.x.azure (+1 more)",
        ),
        ("Status", [f"<{PORTAL}>"], f"Status: {PORTAL}"),
        # names keep their underscores; italic and strike marks go
        (
            "Map",
            ["*rdp_vm* via `vm_win_2`: _waiting_, ~old~ gone"],
            "Map: rdp_vm via vm_win_2: waiting, old gone",
        ),
        (
            "Shared",
            ["in <#C0TEAMB|team-b> for <!here>: a &lt;b&gt; &amp; c"],
            "Shared: in #team-b for @here: a &lt;b&gt; &amp; c",
        ),
        # a list of admins to ask is named in the message itself, never as "someone, someone"
        ("Refused", ["ask an admin (<@U0ADMIN>, <@U0ROOT>) for one"], "Refused: ask an admin for one"),
        ("Nothing here", [], "Nothing here"),
    ],
)
def test_the_notification_text_is_plain_words(title: str, lines: list[str], text: str) -> None:
    assert views.notification(title, lines) == text


def test_a_notification_stays_escaped_so_typed_text_mentions_and_links_nobody() -> None:
    """The ``text`` field is parsed as mrkdwn, where ``&``, ``<`` and ``>`` are control characters
    (Slack, "Formatting text for app surfaces": escape them unless they are meant as markup): a
    reason typed as "<!channel> <@U0ADMIN>" must not become an @channel, or a name, in the text."""
    reason = views.free_text("<!channel> <@U0ADMIN> & <https://evil.example|x>")
    text = views.notification("r-1 rejected", [f"`r-1` was rejected by <@U0BOB>: {reason}"])
    assert text == (
        "r-1 rejected: r-1 was rejected by <@U0BOB>: "
        "&lt;!channel&gt; &lt;@U0ADMIN&gt; &amp; &lt;https://evil.example|x&gt;"
    )
    assert views.spoken(text, {"U0BOB": "bob", "U0ADMIN": "admin"}.get) == text.replace("<@U0BOB>", "bob")
    # the cut counts what the phone shows (an entity is one character), so it never splits one;
    # and private-use marks typed in a reason forge no mention
    assert views.notification("x" * 146 + " a&b", ()) == "x" * 146 + " a&amp;b"
    assert "<@" not in views.notification("\ue000U0ADMIN\ue001 hi", ())
    assert views.notification("<@u0odd> hi", ()) == "someone hi", "no mark is left for the phone to show"


def test_mentions_are_spoken_as_names_or_someone() -> None:
    names = {"U0BOB": "bob"}
    text = views.notification("<@U0BOB> asks <@U0CAROL|carol>", ["for <@W0ALICE>"])
    assert views.spoken(text, names.get) == "bob asks someone: for someone"
    # a cut never leaves half a mention for the lock screen to show
    long = views.notification("x" * 145 + " <@U0BOB>", ())
    assert long.endswith("x …") and views.spoken(long, names.get) == long
    # where nothing names them (an error under a form field) mentions read "someone"
    assert views.unmarked("ask <@U0BOB>") == "ask someone"


@pytest.mark.parametrize(
    ("decision", "by", "until", "text", "context"),
    [
        ("approved", "U0ALICE", None, "rdp-vmb: r-7k2m9x approved", "by <@U0ALICE> at 2026-11-26 09:30 UTC"),
        (
            "approved",
            "U0ALICE",
            datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
            "rdp-vmb: r-7k2m9x approved until 2026-12-03 09:30 UTC",
            "by <@U0ALICE> at 2026-11-26 09:30 UTC until 2026-12-03 09:30 UTC",
        ),
        (
            "rejected",
            None,
            None,
            "rdp-vmb: r-7k2m9x rejected outside natlink",
            "outside natlink at 2026-11-26",
        ),
    ],
)
def test_a_decided_card_says_who_and_until_when(
    decision: str, by: str | None, until: datetime | None, text: str, context: str
) -> None:
    card = views.decided_card(FACTS, decision, by, datetime(2026, 11, 26, 9, 30, tzinfo=UTC), None, until)
    assert card.text == text
    assert context in card.blocks[-1]["elements"][0]["text"]


def test_counts_have_their_plural() -> None:
    assert [views.plural(1, "row"), views.plural(2, "row"), views.plural(0, "change")] == [
        "1 row",
        "2 rows",
        "0 changes",
    ]


def test_decided_card_has_no_buttons() -> None:
    card = views.decided_card(
        FACTS, "approved", "U0ALICE", datetime(2026, 11, 26, 9, 30, tzinfo=UTC), "ok <@U9>"
    )
    assert message_errors(card.blocks) == []
    assert all(b["type"] != "actions" for b in card.blocks)
    assert "Approved* by <@U0ALICE> at 2026-11-26 09:30 UTC — ok &lt;@U9&gt;" in str(card.blocks)


def test_share_card_and_modals_are_valid() -> None:
    assert (
        message_errors(
            views.share_card(
                "rdp-vmb", "rdp-vmb.x.japaneast.azure.privatelinkservice", "japaneast", [3389]
            ).blocks
        )
        == []
    )
    assert view_errors(views.reject_modal("r-1", "C1", "1.2")) == []
    assert view_errors(views.request_modal("rdp-vmb", "C1")) == []
    opened_anywhere = views.request_modal(None, "")  # the global shortcut: the service is picked too
    assert view_errors(opened_anywhere) == []
    assert [b.get("block_id") for b in opened_anywhere["blocks"]][:3] == ["service", "vm", "subnet"]


def test_a_natlink_message_says_what_it_is_about() -> None:
    card = views.share_card("rdp-vmb", "rdp-vmb.x.japaneast.azure.privatelinkservice", "japaneast", [3389])
    assert views.subject_of({"blocks": card.blocks}) == ("service", "rdp-vmb")
    assert views.subject_of({"blocks": [views.section("hello")]}) is None


def test_every_state_of_an_approval_card_says_which_request_it_is_about() -> None:
    """Issue 12: a decided or closed card kept no request id in its blocks, so the message shortcut
    did not know it; each state is about its request, with block ids unique (Slack refuses twins)."""
    at = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    for card in (
        views.approval_card(FACTS),
        views.decided_card(FACTS, "approved", "U0ALICE", at, None),
        views.decided_card(FACTS, "rejected", None, at, "no"),
        views.closed_card(FACTS, "Gone: its connection was removed outside natlink."),
    ):
        assert message_errors(card.blocks) == [], card.text
        assert views.subject_of({"blocks": card.blocks}) == ("request", "r-7k2m9x"), card.text


@pytest.mark.parametrize("count", [0, 1, 49, 50, 51, 500, 2000])
def test_long_lists_stay_within_slacks_limits(count: int) -> None:
    """Within 50 blocks and Slack's ~12,000 characters in all (msg_blocks_too_long), with every line
    either shown or counted."""
    lines = [f"line {i} " + "x" * 200 for i in range(count)]
    message = views.lines_message("Services", lines, empty="No services yet.")
    blocks = views.fit(message.blocks)
    assert blocks == message.blocks, "lines_message already fits"
    assert len(blocks) <= views.MAX_BLOCKS and message_errors(blocks) == []
    assert text_total(blocks) <= MESSAGE_TEXT_TOTAL
    shown = sum(1 for line in lines if line in str(blocks))
    note = str(blocks[-1]) if count else ""
    assert shown == count or f"{count - shown} more of {count} not shown" in note
    assert (shown < count) == (count > 51)


def test_fit_keeps_any_message_within_the_total() -> None:
    blocks = [views.section("y" * 2900) for _ in range(10)]
    kept = views.fit(blocks)
    assert text_total(kept) <= MESSAGE_TEXT_TOTAL and "7 more not shown" in kept[-1]["elements"][0]["text"]


def test_fit_says_what_it_left_out() -> None:
    blocks = [views.section(str(i)) for i in range(120)]
    kept = views.fit(blocks)
    assert len(kept) == 50 and "71 more not shown" in kept[-1]["elements"][0]["text"]


def test_error_and_progress_messages() -> None:
    message = views.error(
        "unknown flag --prot", usage="/natlink create <name> --vm VM --port P", hint="did you mean --port?"
    )
    assert message_errors(message.blocks) == [] and "--prot" in message.text
    running = views.progress("create rdp-vmb", ["load balancer", "subnet policies"], running=True)
    failed = views.progress(
        "create rdp-vmb", ["load balancer"], running=False, failed="private link service: SubnetIsFull"
    )
    assert message_errors(running.blocks) == [] and "working" in running.text
    assert ":x: private link service: SubnetIsFull" in str(failed.blocks)
    by_alice = views.progress("create rdp-vmb", [], running=True, actor="U0ALICE")
    assert "*create rdp-vmb* by <@U0ALICE>" in str(by_alice.blocks) and "by <@U0ALICE>" in by_alice.text


def test_every_line_of_a_long_list_is_on_exactly_one_page() -> None:
    """Issue 12: 3,000 connections in a map must all be reachable, one message at a time."""
    lines = [
        f"*svc-{i:04}* Approved: VM-{i} 10.0.{i // 250}.{i % 250} → 10.9.0.5:3389 " + "x" * 80
        for i in range(3000)
    ]
    first = views.lines_message("Address map", lines, "none", more="map --mine")
    count = int(str(first.blocks[-1]).split(" of ")[1].split(",")[0])
    seen = []
    for page in range(1, count + 1):
        blocks = views.lines_message("Address map", lines, "none", turn=Turn(page), more="map --mine").blocks
        assert message_errors(blocks) == [] and text_total(blocks) <= MESSAGE_TEXT_TOTAL
        assert views.fit(blocks) == blocks
        seen += [line for b in blocks[1:-1] for line in b["text"]["text"].split("\n")]
        note = blocks[-1]["elements"][0]["text"]
        assert f"Page {page} of {count}, 3000 in all" in note
        assert (f"`/natlink map --mine --page {page + 1}`" in note) == (page < count)
    assert seen == lines
    beyond = views.lines_message("Address map", lines, "none", turn=Turn(count + 5), more="map")
    assert f"Page {count} of {count} (there are only {count})" in str(beyond.blocks[-1])


def _linked(names: list[str]) -> tuple[str, ...]:
    from commands import portal

    home = "https://portal.azure.com/#@00000000-0000-0000-0000-0000000000aa"
    sub = "22222222-2222-2222-2222-222222222222"
    pls = f"/subscriptions/{sub}/resourceGroups/rg-team-b/providers/Microsoft.Network/privateLinkServices/"
    return tuple(
        f"*{portal.link(home, pls + name, name)}*"
        f" — ports 443 — `{name}.00000000-0000-0000-0000-000000000000.japaneast.azure.privatelinkservice`"
        " — owners <@U0ALICE>, <@U0BOB>"
        for name in names
    )


def _page(names: list[str], turn: Turn) -> tuple[list[str], str, dict[str, dict]]:
    """The rows a rendered listing page shows, its page line, and its buttons."""
    from bot import slack_out
    from commands.replies import Listing, Reply

    asked = Listing("list", {"mine": False, "owner": "U0ALICE", "subscription": None}, "U0ADMIN")
    reply = Reply(
        "Services you may request",
        _linked(names),
        turn=turn,
        more="list --owner <@U0ALICE>",
        keys=tuple(names),
        listing=asked,
    )
    blocks = slack_out.render(reply).blocks
    assert message_errors(blocks) == [] and text_total(blocks) <= MESSAGE_TEXT_TOTAL
    assert views.fit(blocks) == blocks, "nothing is cut: the buttons and links are in the budget"
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    note = next(b for b in blocks if b["type"] == "context")["elements"][0]["text"]
    return re.findall(r"\|(svc-[\w-]+)>\*", text), note, {e["action_id"]: e for e in blocks[-1]["elements"]}


def _turn(buttons: dict[str, dict], action: str) -> Turn:
    from bot import listing

    listed, turn = listing.read_button(buttons[action]["value"])
    assert listed.verb == "list" and listed.args["owner"] == "U0ALICE"
    return turn


def test_a_thousand_linked_services_page_within_slacks_limits_with_buttons() -> None:
    """Issue 12: portal links make each line longer; the budget counts them, every page stays
    within 12,000 characters in all and 3,000 a section, and the buttons walk every page."""
    names = [f"svc-{i:04}" for i in range(1000)]
    shown, note, buttons = _page(names, Turn())
    assert views.PAGE_PREVIOUS not in buttons and views.EXPORT_CSV in buttons
    # the typed command's hint is pasteable: the mention is outside the code spans, so it copies as @name
    assert "Page 1 of " in note and "`/natlink list --owner` <@U0ALICE> `--page 2`" in note
    seen = list(shown)
    while views.PAGE_NEXT in buttons:
        shown, note, buttons = _page(names, _turn(buttons, views.PAGE_NEXT))
        assert views.PAGE_PREVIOUS in buttons
        assert f"Rows {len(seen) + 1} to {len(seen) + len(shown)} of 1000 in all now, after the" in note
        seen += shown
    assert seen == names
    back, last = [], shown
    while views.PAGE_PREVIOUS in buttons:
        shown, note, buttons = _page(names, _turn(buttons, views.PAGE_PREVIOUS))
        back = shown + back
    assert back == names[: len(names) - len(last)] and views.PAGE_NEXT in buttons


def test_the_buttons_show_every_row_once_when_the_list_changes_between_clicks() -> None:
    """Issue 12: a page is keyed by its rows, not counted from the top: a service added before the
    page shown, or one shown removed, neither repeats nor skips a row at the next click, and the
    page says how the list changed. A button of the release before (a page number) still turns."""
    names = [f"svc-{i:04}" for i in range(600)]
    shown, _, buttons = _page(names, Turn())
    seen, removed, added = list(shown), shown[3], "svc-0450a"
    names = sorted({*names, "svc-000-new", added} - {removed})  # 000-new sorts before every one
    shown, note, buttons = _page(names, _turn(buttons, views.PAGE_NEXT))
    assert shown[0] == f"svc-{len(seen):04}", "strictly after the last row shown, not an offset"
    assert "of 601 in all now (600 when you turned the page), after the last row you saw" in note
    seen += shown
    while views.PAGE_NEXT in buttons:
        shown, _, buttons = _page(names, _turn(buttons, views.PAGE_NEXT))
        seen += shown
    assert sorted(seen) == sorted({*names, removed} - {"svc-000-new"}) and len(seen) == len(set(seen))
    # Previous from the last page: the rows just before its first, as the list is now
    before, _, _ = _page(names, Turn(before=shown[0]))
    assert before == names[names.index(shown[0]) - len(before) : names.index(shown[0])]
    # every row after the clicked one gone: the last page; a page-number button: that page
    assert _page(names, Turn(after="svc-zzz"))[0][-1] == names[-1]
    old = '{"v": "list", "a": {"mine": false, "owner": "U0ALICE", "subscription": null}, "by": "U0ADMIN", "p": 2}'
    assert _turn({"old": {"value": old}}, "old") == Turn(2)
    assert _page(names, Turn(2))[0][0] == names[len(_page(names, Turn())[0])]


def test_portal_links_escape_their_labels() -> None:
    from commands import portal

    assert portal.link("https://portal.azure.com/#@t", "/x/y", "a|b<c>") == (
        "<https://portal.azure.com/#@t/resource/x/y|a\u01c0b&lt;c&gt;>"
    )
    assert portal.link("https://portal.azure.com/#@t", None, "vm&1") == "vm&amp;1"
    # the URL is percent-encoded instead: a "|", "<", ">" or space would end or break the link
    assert portal.link("https://portal.azure.com/#@t", "/x/a|b <c>&d", "n") == (
        "<https://portal.azure.com/#@t/resource/x/a%7Cb%20%3Cc%3E&amp;d|n>"
    )
    assert (
        portal.url("https://portal.azure.com/#@t", "/x/a b")
        == "https://portal.azure.com/#@t/resource/x/a%20b"
    )


def test_a_csv_cell_never_runs_as_a_formula() -> None:
    from bot.listing import to_csv

    assert to_csv([("service", "reason"), ("svc-1", "=HYPERLINK(1)"), ("svc-2", 'say "hi", then')]) == (
        'service,reason\nsvc-1,\'=HYPERLINK(1)\nsvc-2,"say ""hi"", then"\n'
    )


def test_an_alert_summary_links_its_services_unless_the_links_would_overflow_it() -> None:
    """Issue 12: each alert line names its service as a portal link; twenty of them with long
    links would pass Slack's total, so then every link gives way to its label, no line is lost."""
    from bot.poster import PER_MESSAGE, summary
    from commands import portal
    from storage.records import Event

    home = "https://portal.azure.com/#@00000000-0000-0000-0000-0000000000aa"

    def event(i: int) -> Event:
        name = f"svc-{i:02d}-" + "x" * 70
        pls = f"/subscriptions/{'2' * 36}/resourceGroups/{'rg' * 40}/providers/Microsoft.Network/privateLinkServices/"
        line = f"*{portal.link(home, pls + name, name)}*: backend vm-{i} (10.2.0.{i}) is *stopped*."
        payload = {"line": line, "advice": "Start the VM. " + "a" * 150, "since": "2026-11-27T10:00"}
        return Event(
            i, f"k{i}", "C1", name, "backend", "problem", payload, datetime.now(UTC), None, None, 0, None
        )

    one = summary([event(1)])
    assert f"*<{home}/resource/subscriptions/" in str(one.blocks) and "portal" not in one.text
    many = summary([event(i) for i in range(PER_MESSAGE)])
    assert message_errors(many.blocks) == [] and text_total(many.blocks) <= MESSAGE_TEXT_TOTAL
    assert "portal.azure.com" not in str(many.blocks)
    assert all(f"*svc-{i:02d}-" in str(many.blocks) for i in range(PER_MESSAGE)), "every alert is shown"
    assert views.unlinked(f"a <{home}/resource/x|b> <#C1|team> <@U1>") == "a b <#C1|team> <@U1>"
