"""The web page: a Slack-like workspace at ``/`` and its JSON endpoints under ``/web/``.

A person plays every user of the workspace in a browser. What they do reaches the bot exactly as
Slack delivers it: the page asks this server, and the server sends a correctly signed slash
command, click or view submission to ``--bot-url`` with the stand-in's ``Driver``. What the bot
posts is read back from the world, ephemerals only for the user they were sent to.

The Azure panel reads the ARM stand-in (``--arm-config``: its first line as a JSON file) with a
client-credentials token, and acts as the portal would: power a VM off and on, reject a connection
behind natlink's back, and create a private endpoint by alias. Stdlib only.

Endpoints (JSON unless noted):

* ``GET /`` the page; ``GET /web/app.js``, ``GET /web/app.css`` its script and style
* ``GET /web/config`` the workspace (users with roles, channels) and whether a bot and ARM are wired
* ``GET /web/state?user=U..`` what that user sees: channels, messages, their open modal, ``version``
* ``GET /web/version`` the change counter; ``GET /web/events`` the same as server-sent events
* ``POST /web/command`` ``{user, channel, text}``: ``/natlink ...`` as a signed slash command
* ``POST /web/message`` ``{user, channel, text}``: a plain message typed by the user
* ``POST /web/click`` ``{user, channel, ts, action_id, block_id?, value?}``: a signed block action
* ``POST /web/submit`` ``{user, view_id, values: {block_id: {action_id: text}}}``: a view submission
* ``POST /web/close`` ``{user, view_id}``: close a modal without submitting
* ``GET /web/azure`` the ARM world, summarised, with what each side of each link sees
* ``POST /web/portal/power`` ``{vm: name or id, state: "stopped"|"running"}``
* ``POST /web/portal/reject`` ``{connection: id of a PLS privateEndpointConnection, description?}``
* ``POST /web/portal/endpoint`` ``{alias, name?, subnet?}``: a PE in Team A's subnet, manual connection
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import api
from .control import describe
from .driver import Driver, Reply
from .errors import SlackError
from .world import TEAM_ID, Json, public

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from .server import SlackServer

STATIC = Path(__file__).resolve().parent / "web"
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/web/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/web/app.css": ("app.css", "text/css; charset=utf-8"),
}
NETWORK_API = "2024-05-01"
COMPUTE_API = "2024-07-01"
TEAM_A_NAME = "Team A"
KEEPALIVE_SECONDS = 15.0
LRO_WAIT_SECONDS = 60.0


class WebError(Exception):
    def __init__(self, status: int, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.status, self.error, self.detail = status, error, detail

    def body(self) -> Json:
        body: Json = {"ok": False, "error": self.error}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


class Changes:
    """A version counter bumped on every change in the world; waiters wake on each bump."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.version = 1
        self.closed = False

    def bump(self) -> int:
        with self._cond:
            self.version += 1
            self._cond.notify_all()
            return self.version

    def wait(self, seen: int, timeout: float) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen or self.closed, timeout)
            return self.version

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class Arm:
    """A tiny ARM client: a client-credentials token from the authority, then bearer calls over TLS."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None

    def config(self) -> Json:
        if self.config_path is None:
            raise WebError(503, "arm_not_configured", "start the stand-in with --arm-config PATH")
        try:
            config = json.loads(self.config_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise WebError(503, "arm_config_unreadable", str(err)) from None
        missing = [
            k
            for k in ("arm_url", "authority_host", "tenant_id", "client_id", "client_secret")
            if k not in config
        ]
        if missing:
            raise WebError(503, "arm_config_incomplete", missing)
        return config

    def _context(self, config: Json) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=config.get("ca_bundle") or None)

    def token(self, config: Json) -> str:
        with self._lock:
            if self._token and self._token[1] > time.time() + 60:
                return self._token[0]
            form = urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": config["client_id"],
                    "client_secret": config["client_secret"],
                    "scope": "https://management.azure.com/.default",
                }
            ).encode()
            url = f"{config['authority_host'].rstrip('/')}/{config['tenant_id']}/oauth2/v2.0/token"
            status, body = self._send(config, "POST", url, form, "application/x-www-form-urlencoded", None)
            if status != 200 or not isinstance(body, dict) or "access_token" not in body:
                raise WebError(502, "arm_token_failed", body)
            self._token = (body["access_token"], time.time() + float(body.get("expires_in", 3600)))
            return self._token[0]

    def _send(
        self, config: Json, method: str, url: str, data: bytes | None, content_type: str, token: str | None
    ) -> tuple[int, Any]:
        status, body, _ = self._exchange(config, method, url, data, content_type, token)
        return status, body

    def _exchange(
        self, config: Json, method: str, url: str, data: bytes | None, content_type: str, token: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self._context(config), timeout=30) as response:
                status, raw, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            status, raw, got = err.code, err.read(), err.headers
        except OSError as err:
            raise WebError(502, "arm_unreachable", str(err)) from None
        names = {k.lower(): v for k, v in got.items()}
        try:
            return status, json.loads(raw) if raw.strip() else {}, names
        except json.JSONDecodeError:
            return status, {"raw": raw.decode("utf-8", "replace")}, names

    def call(
        self, method: str, path: str, body: Any = None, api_version: str | None = None
    ) -> tuple[int, Any]:
        """One ARM call; ``path`` starts with ``/``. ``/_sandbox/`` paths go without a token."""
        config = self.config()
        url = config["arm_url"].rstrip("/") + path
        if api_version:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"api-version": api_version})
        token = None if path.startswith("/_sandbox/") else self.token(config)
        data = json.dumps(body).encode() if body is not None else None
        status, answer, headers = self._exchange(config, method, url, data, "application/json", token)
        if status in (201, 202) and method != "GET":
            self._follow(config, token, headers)
        return status, answer

    def _follow(self, config: Json, token: str | None, headers: dict[str, str]) -> None:
        """Wait for a long-running operation as the portal does, by its Azure-AsyncOperation or Location."""
        url = headers.get("azure-asyncoperation") or headers.get("location")
        deadline = time.monotonic() + LRO_WAIT_SECONDS
        while url and time.monotonic() < deadline:
            time.sleep(min(float(headers.get("retry-after") or 1), 0.5))
            status, body, headers = self._exchange(config, "GET", url, None, "application/json", token)
            if status != 202 and not (
                isinstance(body, dict) and body.get("status") in ("InProgress", "Accepted")
            ):
                return

    def state(self) -> Json:
        status, body = self.call("GET", "/_sandbox/state")
        if status != 200 or not isinstance(body, dict):
            raise WebError(502, "arm_state_failed", body)
        return body


# -- deriving what each side sees ---------------------------------------------------------------------


def _key(rid: str | None) -> str:
    return (rid or "").lower()


def _parent(rid: str, levels: int = 2) -> str:
    return "/".join(rid.split("/")[:-levels])


def summarise(state: Json) -> Json:
    """VNets, VMs, LBs, PLS, PEs, and one row per connection saying what each side sees."""
    resources = state.get("resources") or []
    by_type: dict[str, list[Json]] = {}
    for r in resources:
        by_type.setdefault(str(r.get("type", "")).lower(), []).append(r)
    nics = {_key(n["id"]): n for n in by_type.get("microsoft.network/networkinterfaces", [])}
    subs = {s["subscriptionId"].lower(): s.get("displayName", "") for s in state.get("subscriptions") or []}

    def sub_of(rid: str) -> str:
        parts = rid.split("/")
        return parts[2] if len(parts) > 2 else ""

    def team(rid: str) -> str:
        return subs.get(sub_of(rid).lower(), sub_of(rid))

    def nic_ips(nic_id: str) -> list[str]:
        nic = nics.get(_key(nic_id)) or {}
        configs = (nic.get("properties") or {}).get("ipConfigurations") or []
        return [
            c["properties"]["privateIPAddress"]
            for c in configs
            if c.get("properties", {}).get("privateIPAddress")
        ]

    ipconfig_ip: dict[str, str] = {}
    for nic in nics.values():
        for c in (nic.get("properties") or {}).get("ipConfigurations") or []:
            ip = (c.get("properties") or {}).get("privateIPAddress")
            if ip:
                ipconfig_ip[_key(c["id"])] = ip

    vms = []
    vm_by_nic: dict[str, str] = {}
    for vm in by_type.get("microsoft.compute/virtualmachines", []):
        refs = ((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces") or []
        ips = [ip for ref in refs for ip in nic_ips(ref["id"])]
        for ref in refs:
            vm_by_nic[_key(ref["id"])] = vm["name"]
        vms.append(
            {
                "id": vm["id"],
                "name": vm["name"],
                "team": team(vm["id"]),
                "ips": ips,
                "power": vm.get("powerState", "unknown"),
            }
        )

    vnets = []
    for vnet in by_type.get("microsoft.network/virtualnetworks", []):
        props = vnet.get("properties") or {}
        vnets.append(
            {
                "id": vnet["id"],
                "name": vnet["name"],
                "team": team(vnet["id"]),
                "prefixes": (props.get("addressSpace") or {}).get("addressPrefixes") or [],
                "subnets": [
                    {
                        "id": s["id"],
                        "name": s["name"],
                        "prefix": (s.get("properties") or {}).get("addressPrefix", ""),
                    }
                    for s in props.get("subnets") or []
                ],
            }
        )

    lbs, frontend_lb = [], {}
    for lb in by_type.get("microsoft.network/loadbalancers", []):
        props = lb.get("properties") or {}
        frontends = [
            {"id": f["id"], "ip": (f.get("properties") or {}).get("privateIPAddress", "")}
            for f in props.get("frontendIPConfigurations") or []
        ]
        backends = []
        for pool in props.get("backendAddressPools") or []:
            for ref in (pool.get("properties") or {}).get("backendIPConfigurations") or []:
                nic_id = _parent(ref["id"])
                backends.append(
                    {"ip": ipconfig_ip.get(_key(ref["id"]), ""), "vm": vm_by_nic.get(_key(nic_id), "")}
                )
        rules = [
            {
                "name": rule["name"],
                "frontend": _key(
                    ((rule.get("properties") or {}).get("frontendIPConfiguration") or {}).get("id")
                ),
                "frontendPort": (rule.get("properties") or {}).get("frontendPort"),
                "backendPort": (rule.get("properties") or {}).get("backendPort"),
                "protocol": (rule.get("properties") or {}).get("protocol", ""),
            }
            for rule in props.get("loadBalancingRules") or []
        ]
        entry = {
            "id": lb["id"],
            "name": lb["name"],
            "team": team(lb["id"]),
            "sku": (lb.get("sku") or {}).get("name", ""),
            "frontends": frontends,
            "backends": backends,
            "rules": rules,
        }
        lbs.append(entry)
        for f in frontends:
            frontend_lb[_key(f["id"])] = entry

    services, by_alias = [], {}
    for pls in by_type.get("microsoft.network/privatelinkservices", []):
        props = pls.get("properties") or {}
        nat_ips = [ip for ref in props.get("networkInterfaces") or [] for ip in nic_ips(ref["id"])]
        if not nat_ips:
            nat_ips = [
                c["properties"]["privateIPAddress"]
                for c in props.get("ipConfigurations") or []
                if (c.get("properties") or {}).get("privateIPAddress")
            ]
        fronts = [_key(f["id"]) for f in props.get("loadBalancerFrontendIpConfigurations") or []]
        lb = next((frontend_lb[f] for f in fronts if f in frontend_lb), None)
        connections = [
            {
                "id": c["id"],
                "name": c["name"],
                "endpoint": ((c.get("properties") or {}).get("privateEndpoint") or {}).get("id", ""),
                "status": ((c.get("properties") or {}).get("privateLinkServiceConnectionState") or {}).get(
                    "status", ""
                ),
                "description": (
                    (c.get("properties") or {}).get("privateLinkServiceConnectionState") or {}
                ).get("description", ""),
            }
            for c in props.get("privateEndpointConnections") or []
        ]
        entry = {
            "id": pls["id"],
            "name": pls["name"],
            "team": team(pls["id"]),
            "alias": props.get("alias", ""),
            "natIps": nat_ips,
            "lb": lb["name"] if lb else "",
            "fronts": fronts,
            "connections": connections,
            "_lb": lb,
        }
        services.append(entry)
        by_alias[_key(entry["alias"])] = entry
        by_alias[_key(entry["id"])] = entry

    endpoints, links = [], []
    for pe in by_type.get("microsoft.network/privateendpoints", []):
        props = pe.get("properties") or {}
        ips = [ip for ref in props.get("networkInterfaces") or [] for ip in nic_ips(ref["id"])]
        conns = [
            *(props.get("privateLinkServiceConnections") or []),
            *(props.get("manualPrivateLinkServiceConnections") or []),
        ]
        target = ((conns[0].get("properties") or {}).get("privateLinkServiceId", "")) if conns else ""
        pls = by_alias.get(_key(target))
        status = ""
        if pls is not None:
            status = next(
                (c["status"] for c in pls["connections"] if _key(c["endpoint"]) == _key(pe["id"])),
                "Disconnected",
            )
        elif conns:
            status = (
                ((conns[0].get("properties") or {}).get("privateLinkServiceConnectionState")) or {}
            ).get("status", "")
        subnet = (props.get("subnet") or {}).get("id", "")
        endpoints.append(
            {
                "id": pe["id"],
                "name": pe["name"],
                "team": team(pe["id"]),
                "ips": ips,
                "subnet": "/".join(subnet.split("/")[-3::2]) if subnet else "",
                "target": target,
                "service": pls["name"] if pls else "",
                "status": status,
            }
        )
        if pls is None:
            continue
        lb = pls["_lb"] or {}
        rules = [r for r in lb.get("rules", []) if r["frontend"] in pls["fronts"]] or [
            {"frontendPort": None, "backendPort": None, "protocol": ""}
        ]
        for rule in rules:
            port = rule["frontendPort"]
            links.append(
                {
                    "service": pls["name"],
                    "endpoint": pe["name"],
                    "status": status,
                    "consumer": team(pe["id"]),
                    "provider": pls["team"],
                    "destination": f"{ips[0] if ips else '?'}:{port if port is not None else '?'}",
                    "natIps": pls["natIps"],
                    "backends": [
                        f"{b['vm'] or '?'} {b['ip']}:{rule['backendPort'] if rule['backendPort'] is not None else '?'}"
                        for b in lb.get("backends", [])
                    ],
                    "aSees": f"connect to {ips[0] if ips else '?'}:{port if port is not None else '?'}",
                    "bSees": f"source {', '.join(pls['natIps']) or '?'}",
                }
            )
    for pls in services:
        pls.pop("_lb", None)
        pls.pop("fronts", None)
    return {
        "subscriptions": state.get("subscriptions") or [],
        "vnets": vnets,
        "vms": vms,
        "lbs": lbs,
        "services": services,
        "endpoints": endpoints,
        "links": links,
    }


# -- the application ---------------------------------------------------------------------------------


class WebApp:
    """Serves ``/`` and ``/web/*`` for one ``SlackServer``."""

    def __init__(self, server: SlackServer, bot_url: str | None, arm_config: Path | None) -> None:
        self.server = server
        self.bot_url = bot_url
        self.arm = Arm(arm_config)
        self.changes = Changes()
        with server.world.lock:  # modals do not outlive a restart: the page starts with none open
            self.dismissed: set[str] = set(server.world.views)

    @property
    def world(self) -> Any:
        return self.server.world

    # -- routing ------------------------------------------------------------------------------

    def static(self, path: str) -> tuple[bytes, str] | None:
        entry = STATIC_FILES.get(path)
        if entry is None:
            return None
        return (STATIC / entry[0]).read_bytes(), entry[1]

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Json]:
        spec = body if isinstance(body, dict) else {}
        routes = {
            ("GET", "/web/state"): lambda: self.state(query.get("user", "")),
            ("GET", "/web/version"): lambda: {"ok": True, "version": self.changes.version},
            ("GET", "/web/config"): self.config,
            ("POST", "/web/command"): lambda: self.command(spec),
            ("POST", "/web/message"): lambda: self.message(spec),
            ("POST", "/web/click"): lambda: self.click(spec),
            ("POST", "/web/submit"): lambda: self.submit(spec),
            ("POST", "/web/close"): lambda: self.close(spec),
            ("GET", "/web/azure"): self.azure,
            ("POST", "/web/portal/power"): lambda: self.power(spec),
            ("POST", "/web/portal/reject"): lambda: self.reject(spec),
            ("POST", "/web/portal/endpoint"): lambda: self.create_endpoint(spec),
        }
        route = routes.get((method, path))
        if route is None:
            return 404, {"ok": False, "error": "unknown_path"}
        try:
            return 200, route()
        except WebError as err:
            return err.status, err.body()
        except SlackError as err:
            return 400, {"ok": False, "error": err.error, "detail": err.messages or None}
        except LookupError as err:
            return 404, {"ok": False, "error": "not_found", "detail": str(err)}

    def stream(self, handler: BaseHTTPRequestHandler) -> None:
        """``GET /web/events``: one ``version`` event now and on every change, a comment as keep-alive."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        seen = -1
        try:
            while not self.changes.closed:
                version = self.changes.version
                if version != seen:
                    seen = version
                    handler.wfile.write(
                        f"event: version\ndata: {json.dumps({'version': version})}\n\n".encode()
                    )
                else:
                    handler.wfile.write(b": keep-alive\n\n")
                handler.wfile.flush()
                self.changes.wait(seen, KEEPALIVE_SECONDS)
        except OSError:
            return  # the browser went away

    # -- the workspace ------------------------------------------------------------------------

    def _describe(self) -> Json:
        return describe(self.world, self.server.base_url)

    def _driver(self) -> Driver:
        if not self.bot_url:
            raise WebError(503, "bot_not_configured", "start the stand-in with --bot-url URL")
        return Driver(self.bot_url, self._describe())

    def _user(self, spec: Json) -> Json:
        uid = spec.get("user")
        with self.world.lock:
            for user in self.world.users.values():
                if uid in (user["id"], user["name"]) and not user["is_bot"]:
                    return user
        raise WebError(400, "user_not_found", uid)

    def _channel(self, ref: Any, user: Json) -> Json:
        """A channel the user can see: a public channel by ID or name, or their own DM with the bot."""
        with self.world.lock:
            if ref in ("D" + user["id"][1:], "dm", "@natlink"):
                return self.world.open_dm(user["id"])
            channel = self.world.channel(ref)
            if channel["is_im"] and channel.get("user") != user["id"]:
                raise WebError(403, "not_your_dm")
            return channel

    def config(self) -> Json:
        return {
            "ok": True,
            "workspace": self._describe(),
            "bot_url": self.bot_url,
            "arm": self.arm.config_path is not None,
            "version": self.changes.version,
        }

    def state(self, uid: str) -> Json:
        user = self._user({"user": uid})
        with self.world.lock:
            self.world.open_dm(user["id"])
            users = {
                u["id"]: {"name": u["name"], "real_name": u.get("real_name", "")}
                for u in self.world.users.values()
            }
            channels, messages = [], {}
            for channel in self.world.channels.values():
                if channel["is_im"] and channel.get("user") != user["id"]:
                    continue
                if not channel["is_im"] and user["id"] not in channel["_members"]:
                    continue
                name = "natlink" if channel["is_im"] else channel["name"]
                channels.append({"id": channel["id"], "name": name, "is_im": channel["is_im"]})
                shown = []
                for record in self.world.messages.get(channel["id"], []):
                    if record["deleted"] or (record["ephemeral"] and record["to"] != user["id"]):
                        continue
                    shown.append(
                        {
                            "ts": record["message"]["ts"],
                            "ephemeral": record["ephemeral"],
                            "via": record["via"],
                            "edits": len(record["history"]),
                            "message": record["message"],
                        }
                    )
                messages[channel["id"]] = sorted(shown, key=lambda m: float(m["ts"]))
            view = None
            for stored in self.world.views.values():
                if stored["_user"] == user["id"] and stored["id"] not in self.dismissed:
                    view = public(stored)
            me = users[user["id"]] | {"id": user["id"]} | user.get("_natlink", {})
        return {
            "ok": True,
            "version": self.changes.version,
            "me": me,
            "users": users,
            "channels": channels,
            "messages": messages,
            "view": view,
            "bot": bool(self.bot_url),
            "arm": self.arm.config_path is not None,
        }

    def _post_as(self, user: Json, channel: Json, text: str) -> Json:
        with self.world.lock:
            message = {
                "type": "message",
                "text": text,
                "user": user["id"],
                "team": TEAM_ID,
                "ts": self.world.next_ts(),
            }
            self.world.add_message(channel["id"], message, via="person")
            self.world.save()
        self.changes.bump()
        return message

    def message(self, spec: Json) -> Json:
        user = self._user(spec)
        channel = self._channel(spec.get("channel"), user)
        text = str(spec.get("text", ""))
        if not text.strip():
            raise WebError(400, "no_text")
        if text.startswith("/"):
            return self.command(spec)
        return {"ok": True, "channel": channel["id"], "ts": self._post_as(user, channel, text)["ts"]}

    def _system_ephemeral(self, channel: str, user: str, text: str, blocks: list[Any] | None = None) -> None:
        """A message Slack itself shows one user (a slash command's answer, or its failure)."""
        with self.world.lock:
            message = api.bot_message(self.world, text, blocks)
            self.world.add_message(channel, message, via="slash_command_response", ephemeral_to=user)
            self.world.save()
        self.changes.bump()

    def command(self, spec: Json) -> Json:
        """``/natlink ...`` as Slack sends it: signed, with a trigger ID and a response URL."""
        user = self._user(spec)
        channel = self._channel(spec.get("channel"), user)
        text = str(spec.get("text", "")).strip()
        match = re.fullmatch(r"(/[\w-]+)(?:\s+(.*))?", text, re.DOTALL)
        if match is None:
            raise WebError(400, "not_a_command", text)
        command, rest = match.group(1), (match.group(2) or "").strip()
        if command != "/natlink":
            self._system_ephemeral(channel["id"], user["id"], f"{command} is not a valid command.")
            return {"ok": False, "error": "invalid_command", "command": command}
        try:
            reply = _delivered(lambda: self._driver().slash_command(user["id"], channel["id"], rest, command))
        except WebError:
            self._system_ephemeral(
                channel["id"], user["id"], '/natlink failed with the error "dispatch_failed"'
            )
            raise
        self._show_command_reply(reply, channel["id"], user, text)
        return {"ok": True, "status": reply.status, "reply": _reply_body(reply)}

    def _show_command_reply(self, reply: Reply, channel: str, user: Json, typed: str) -> None:
        """Slack shows the HTTP answer to a slash command: ephemeral unless ``response_type: in_channel``."""
        if reply.status != 200:
            self._system_ephemeral(
                channel, user["id"], f'/natlink failed with the error "dispatch_failed" (HTTP {reply.status})'
            )
            return
        if not reply.body.strip():
            return
        body = _reply_body(reply)
        if not isinstance(body, dict):
            body = {"text": reply.text}
        try:
            text, blocks = api.message_content(body)
        except SlackError:
            text, blocks = reply.text, None
        if body.get("response_type") == "in_channel":
            with self.world.lock:
                self.world.add_message(
                    channel,
                    {
                        "type": "message",
                        "text": typed,
                        "user": user["id"],
                        "team": TEAM_ID,
                        "ts": self.world.next_ts(),
                    },
                    via="person",
                )
                self.world.add_message(
                    channel, api.bot_message(self.world, text, blocks), via="slash_command_response"
                )
                self.world.save()
            self.changes.bump()
        else:
            self._system_ephemeral(channel, user["id"], text, blocks)

    def click(self, spec: Json) -> Json:
        user = self._user(spec)
        channel = self._channel(spec.get("channel"), user)
        ts, action_id = spec.get("ts"), spec.get("action_id")
        if not isinstance(ts, str) or not isinstance(action_id, str):
            raise WebError(400, "invalid_arguments", "'ts' and 'action_id' are required")
        with self.world.lock:
            record = self.world.find(channel["id"], ts)
            if record["ephemeral"] and record["to"] != user["id"]:
                raise WebError(404, "message_not_found")
        reply = _delivered(
            lambda: self._driver().click(
                user["id"], channel["id"], ts, action_id, spec.get("value"), spec.get("block_id") or None
            )
        )
        return {"ok": reply.status == 200, "status": reply.status, "reply": _reply_body(reply)}

    def submit(self, spec: Json) -> Json:
        """A view submission; the bot's ``response_action`` is applied as Slack applies it."""
        user = self._user(spec)
        view_id = spec.get("view_id")
        with self.world.lock:
            stored = self.world.views.get(view_id) if isinstance(view_id, str) else None
            if stored is None or stored["_user"] != user["id"]:
                raise WebError(404, "view_not_found", view_id)
        values = spec.get("values") if isinstance(spec.get("values"), dict) else {}
        clean = {
            str(block): {str(action): str(value) for action, value in actions.items()}
            for block, actions in values.items()
            if isinstance(actions, dict)
        }
        reply = _delivered(lambda: self._driver().submit_view(user["id"], view_id, clean))
        body = _reply_body(reply)
        answer: Json = {"ok": reply.status == 200, "status": reply.status, "reply": body}
        if reply.status != 200:
            answer["errors"] = {"": f"The app did not accept the form (HTTP {reply.status})."}
            return answer
        action = body.get("response_action") if isinstance(body, dict) else None
        with self.world.lock:
            if action == "errors":
                answer["errors"] = body.get("errors") or {}
            elif action in ("update", "push") and isinstance(body.get("view"), dict):
                self.world.store_view(body["view"], user["id"], view_id if action == "update" else None)
            elif action == "clear":
                self.dismissed.update(v["id"] for v in self.world.views.values() if v["_user"] == user["id"])
            else:
                self.dismissed.add(view_id)
        self.changes.bump()
        return answer

    def close(self, spec: Json) -> Json:
        user = self._user(spec)
        with self.world.lock:
            for view in self.world.views.values():
                if view["_user"] == user["id"] and view["id"] == spec.get("view_id"):
                    self.dismissed.add(view["id"])
        self.changes.bump()
        return {"ok": True}

    # -- Azure --------------------------------------------------------------------------------

    def azure(self) -> Json:
        return {"ok": True} | summarise(self.arm.state())

    def _find(self, kind: str, ref: Any) -> Json:
        if not isinstance(ref, str) or not ref:
            raise WebError(400, "invalid_arguments", f"name the {kind}")
        for r in self.arm.state()["resources"]:
            if str(r.get("type", "")).lower() == kind.lower() and ref.lower() in (
                r["id"].lower(),
                r["name"].lower(),
            ):
                return r
        raise WebError(404, "resource_not_found", ref)

    def _arm_answer(self, status: int, body: Any) -> Json:
        if status >= 400:
            raise WebError(status if status < 500 else 502, "arm_refused", body)
        return {"ok": True, "status": status, "arm": body}

    def power(self, spec: Json) -> Json:
        """Power a VM off or on with the real VM API (``powerOff`` / ``start``), as the portal does."""
        state = spec.get("state")
        if state not in ("stopped", "running"):
            raise WebError(400, "invalid_arguments", "'state' is 'stopped' or 'running'")
        vm = self._find("Microsoft.Compute/virtualMachines", spec.get("vm"))
        action = "powerOff" if state == "stopped" else "start"
        answer = self._arm_answer(*self.arm.call("POST", f"{vm['id']}/{action}", None, COMPUTE_API))
        return answer | {"vm": vm["id"], "action": action}

    def reject(self, spec: Json) -> Json:
        """Reject a private endpoint connection on the provider side, behind natlink's back."""
        cid = spec.get("connection")
        if not isinstance(cid, str) or "/privateendpointconnections/" not in cid.lower():
            raise WebError(400, "invalid_arguments", "'connection' is a privateEndpointConnections ID")
        description = str(spec.get("description") or "Rejected in the portal")
        body = {
            "name": cid.rsplit("/", 1)[-1],
            "properties": {
                "privateLinkServiceConnectionState": {
                    "status": "Rejected",
                    "description": description,
                    "actionsRequired": "None",
                }
            },
        }
        return self._arm_answer(*self.arm.call("PUT", cid, body, NETWORK_API)) | {"connection": cid}

    def create_endpoint(self, spec: Json) -> Json:
        """A PE in Team A's subnet with a manual connection to an alias, as a consumer does in the portal."""
        alias = spec.get("alias")
        if not isinstance(alias, str) or not alias:
            raise WebError(400, "invalid_arguments", "'alias' is required")
        state = self.arm.state()
        subnet = spec.get("subnet")
        if not isinstance(subnet, str) or not subnet:
            team_a = next(
                (s["subscriptionId"] for s in state["subscriptions"] if s.get("displayName") == TEAM_A_NAME),
                state["subscriptions"][0]["subscriptionId"] if state["subscriptions"] else "",
            )
            vnets = [
                r
                for r in state["resources"]
                if r.get("type", "").lower() == "microsoft.network/virtualnetworks"
                and r["id"].lower().startswith(f"/subscriptions/{team_a.lower()}/")
            ]
            subnets = [s for v in vnets for s in (v.get("properties") or {}).get("subnets") or []]
            if not subnets:
                raise WebError(409, "no_subnet", "Team A has no subnet")
            subnet = subnets[0]["id"]
        name = spec.get("name") or f"pe-portal-{int(time.time()) % 100000}"
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}", name):
            raise WebError(400, "invalid_arguments", "'name' is not a valid resource name")
        group = "/".join(subnet.split("/")[:5])
        vnet = next((r for r in state["resources"] if r["id"].lower() == _parent(subnet).lower()), None)
        location = (vnet or {}).get("location", "japaneast")
        body = {
            "location": location,
            "properties": {
                "subnet": {"id": subnet},
                "manualPrivateLinkServiceConnections": [
                    {
                        "name": name,
                        "properties": {
                            "privateLinkServiceId": alias,
                            "requestMessage": "Created in the portal",
                        },
                    }
                ],
            },
        }
        pe_id = f"{group}/providers/Microsoft.Network/privateEndpoints/{name}"
        return self._arm_answer(*self.arm.call("PUT", pe_id, body, NETWORK_API)) | {"endpoint": pe_id}


def _delivered(send: Callable[[], Reply]) -> Reply:
    """Send one delivery to the bot; an unreachable bot is a 502, as Slack's ``dispatch_failed``."""
    try:
        return send()
    except OSError as err:
        raise WebError(502, "bot_unreachable", str(err)) from None


def _reply_body(reply: Reply) -> Any:
    if not reply.body.strip():
        return None
    try:
        return reply.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return reply.text
