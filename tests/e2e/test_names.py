"""Issue 12, section 2: a notification names people ("bob requests an endpoint to rdp-vmb"), as a
phone's lock screen shows it, where Slack renders no mentions. natlink asks users.info once a
person, and a refused lookup still posts the card, saying "someone"."""

from __future__ import annotations

from tests.conftest import TEAM_A
from tests.e2e.harness import find, ok, opened_view, pending_request, request_id_of, wait_for


def test_a_cards_notification_names_the_requester_and_a_refused_lookup_says_someone(
    bot, driver, slack
) -> None:
    card = pending_request(driver, slack)
    request = request_id_of(card)
    assert card["message"]["text"] == f"bob requests an endpoint to rdp-vmb ({request}), waiting for approval"
    assert f"<@{slack.user('bob')}>" in str(card["message"]["blocks"]), "the card itself still mentions bob"
    asked = [c["args"]["user"] for c in slack.calls("users.info")]
    assert slack.user("bob") in asked and len(asked) == len(set(asked)), "each person asked once"

    # a listener's own post names people too: bolt hands listeners a plain WebClient of its own
    # per request, so natlink's must be the one they get. Bob, no owner, clicks Share… on the
    # create result: the refusal names alice, its owner
    created = find(slack, "team-b", "rdp-vmb is exposed")
    assert created is not None
    ok(driver.click("bob", "#team-b", created["message"]["ts"], "natlink_share"))
    refused = wait_for(lambda: find(slack, "team-b", "not an owner", ephemeral=True), 30, "bob refused")
    assert refused["message"]["text"].endswith("its owners are alice"), refused["message"]["text"]

    # the workspace withdrew users:read: carol's card is still posted, and her name is "someone"
    slack.control(
        "PUT",
        "scopes",
        {"scopes": [s for s in slack.control("GET", "scopes")["scopes"] if s != "users:read"]},
    )
    carol = slack.user("carol")
    ok(driver.slash_command("admin", "#team-a", f"grant <@{carol}|carol> request {TEAM_A}"))
    ok(driver.slash_command("carol", "#team-a", "request rdp-vmb --vnet RG-normal-vnet --subnet default"))
    second = wait_for(
        lambda: next(
            (
                r
                for r in slack.messages(slack.channel("team-b"))
                if "someone requests" in (r["message"].get("text") or "")
            ),
            None,
        ),
        60,
        "carol's card",
    )
    assert second["message"]["text"].startswith("someone requests an endpoint to rdp-vmb (")
    refused = slack.calls("users.info")[-1]
    assert (refused["args"]["user"], refused["response"]["error"]) == (carol, "missing_scope")
    assert f"users.info of {carol} failed: missing_scope" in bot.log.read_text()
    assert find(slack, "team-b", "natlink_approve") is not None

    # a reason is the person's words, never markup: the Reject modal's text box hands it over as
    # typed, "<!channel>" and all, and the decision's texts (the card's thread, bob's DM) carry it
    # escaped, which Slack shows as typed, never as an @channel for the whole channel
    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_reject"))
    form = opened_view(slack, "natlink_reject_reason", "the reject form")
    ok(driver.submit_view("alice", form, {"reason": {"value": "<!channel> use staging & not prod"}}))
    told = wait_for(lambda: find(slack, slack.user("bob"), "was rejected"), 60, "bob told of the rejection")
    texts = [r["message"].get("text") or "" for r in (*slack.messages(slack.channel("team-b")), told)]
    assert sum("&lt;!channel&gt; use staging &amp; not prod" in t for t in texts) >= 2, texts
    assert not any("<!channel>" in t for t in texts), texts
