"""`natlink sandbox --tour`: the seed story with no browser, as each person saw it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAPPING = (
    "from VM-Win2019 (10.0.0.4) connect to 10.0.0.5:3389; it arrives at VM-Win2019-2 10.2.0.5:3389, "
    "which sees you as 10.2.0.6"
)


def _tour(cwd: Path, *args: str) -> str:
    """Run ``natlink sandbox [args] --tour`` in ``cwd``; its transcript, once it ended well."""
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", *args, "--tour"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=170,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _in_order(out: str, facts: list[str]) -> None:
    at = 0
    for fact in facts:
        found = out.find(fact, at)
        assert found >= 0, f"{fact!r} missing (or out of order) in:\n{out}"
        at = found + len(fact)


def test_the_tour_tells_the_seed_story(tmp_path: Path) -> None:
    out = _tour(tmp_path)
    in_order = [
        "admin in #team-b: /natlink grant @alice create 22222222-2222-2222-2222-222222222222",
        "admin in #team-a: /natlink grant @bob request 11111111-1111-1111-1111-111111111111",
        "--- 1. create",
        "alice in #team-b: /natlink create rdp-vmb --vm VM-Win2019-2 --port 3389",
        "== rdp-vmb is exposed ==",
        "--- 2. share",
        "alice in #team-b: /natlink share rdp-vmb #team-a",
        "natlink posted in #team-a:",
        "[Request endpoint]",
        "--- 3. request",
        "bob in #team-a: /natlink request rdp-vmb --vm VM-Win2019",
        "== Endpoint request for rdp-vmb ==",
        "[Approve] [Approve for 7 days] [Approve for 30 days] [Reject]",
        "--- 4. approve",
        "alice in #team-b: clicks [Approve]",
        "natlink updated its message in #team-b:",
        "Approved by @alice",
        "natlink posted in a DM to bob:",
        "--- 5. power off",
        "portal: POST .../virtualMachines/VM-Win2019-2/powerOff",
        "rdp-vmb: backend VM-Win2019-2 (10.2.0.5) is stopped.",
        "--- 6. power on",
        "portal: POST .../virtualMachines/VM-Win2019-2/start",
        "rdp-vmb ok: 1 of 1 backends running",
        "--- 7. digest",
        "== natlink daily digest,",
        "VM-Win2019 10.0.0.4 → 10.0.0.5:3389",
        "--- 8. verify",
        "bob in #team-a: /natlink verify r-",
        "TCP SYNs on 3389 from 10.2.0.6 (the NAT IP of rdp-vmb), none from 10.0.0.4",
    ]
    _in_order(out, in_order)
    assert "*" not in out.split("--- 1. create")[1].replace("* * * * *", ""), "mrkdwn bold left in the text"
    assert out.rstrip("\n").splitlines()[-1] == MAPPING
    assert not (tmp_path / ".natlink-sandbox").exists(), "the tour must not touch the user's state"


def test_the_tour_takes_over_the_seed_as_its_author_built_it(tmp_path: Path) -> None:
    """Issue 15: ``--world seed-by-hand`` starts from LB-temp with its RDP inbound NAT rule and
    PrivateLink-01 on it; natlink takes it over, and the map shows the NAT rule and both addresses."""
    out = _tour(tmp_path, "--world", "seed-by-hand")
    in_order = [
        "the seed-by-hand story",
        "alice in #team-b: /natlink create privatelink-01 --lb LB-temp --frontend fe",
        "== privatelink-01 is exposed ==",
        "Frontend 10.2.0.4, ports 3389 (NAT rule RDP); NAT IPs 10.2.0.6",
        "Backends: VM-Win2019-2 10.2.0.5:3389 (running)",
        "private link service PrivateLink-01: made outside natlink: natlink manages it from now on",
        "bob in #team-a: /natlink request privatelink-01 --vm VM-Win2019",
        "alice in #team-b: clicks [Approve]",
        "Approved by @alice",
        "bob in #team-a: /natlink map privatelink-01",
        "privatelink-01 Approved: VM-Win2019 10.0.0.4 → 10.0.0.5:3389 ⇒ NAT 10.2.0.6 → "
        "LB-temp 10.2.0.4:3389 (NAT rule RDP) → VM-Win2019-2 10.2.0.5:3389 (sees 10.2.0.6)",
        "alice in #team-b: /natlink status privatelink-01",
        "privatelink-01 ok: 1 of 1 backends running; NAT rule RDP: no health probe, judged by the VM's power state",
    ]
    _in_order(out, in_order)
    assert "not visible" not in out
    assert out.rstrip("\n").splitlines()[-1] == MAPPING
