"""Action-level RBAC: role definitions, role assignments per principal and scope, and ARM's checks.

ARM authorizes every request before a resource provider sees it: the request is one *action*
(``<namespace>/<type>[/<child type>…]/read|write|delete``, or ``…/<name>/action`` for a POST),
over one *scope* (the resource, or the subscription for a list), and the caller must hold a role
assignment at that scope or above whose role's ``actions`` match it and whose ``notActions`` do
not. A write that links another resource also needs that resource's ``join/action``
(``LinkedAuthorizationFailed``, see ``network.linked``).

By default every principal holds ``DEFAULT_ROLE`` everywhere (Owner, less the approval of automatic
private endpoint connections, so a consumer still needs a manual request or the provider's
auto-approval list, as when each team is its own identity). The control API replaces a principal's
assignments with exactly the ones given (``PUT /_sandbox/role-assignments``): that is how a test
gives natlink only its own roles. The control ``access`` marks a subscription where nobody holds
anything.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .errors import ArmError
from .world import Json, World

APPROVAL = "Microsoft.Network/privateLinkServices/privateEndpointConnectionsApproval/action"
# Built-in roles with their real action patterns (learn.microsoft.com/azure/role-based-access-control/
# built-in-roles, "Owner", "Contributor", "Reader", "Network Contributor", "Monitoring Reader").
BUILTIN: dict[str, Json] = {
    "Owner": {"id": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "actions": ["*"], "notActions": []},
    "Contributor": {
        "id": "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "actions": ["*"],
        "notActions": [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ],
    },
    "Reader": {"id": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "actions": ["*/read"], "notActions": []},
    "Network Contributor": {
        "id": "4d97b98b-1d4f-4787-a291-c67834d212e7",
        "actions": [
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Network/*",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ],
        "notActions": [],
    },
    "Monitoring Reader": {
        "id": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
        "actions": [
            "*/read",
            "Microsoft.OperationalInsights/workspaces/search/action",
            "Microsoft.Support/*",
        ],
        "notActions": [],
    },
}
DEFAULT_ROLE = "Sandbox default"  # the stand-in's own: what every principal holds until told otherwise
_DEFAULT: Json = {"id": "00000000-0000-0000-0000-000000000001", "actions": ["*"], "notActions": [APPROVAL]}


@dataclass(frozen=True)
class Grant:
    """One role assignment as the checks use it: the role's patterns at a scope."""

    role: str
    scope: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]

    def covers(self, scope: str) -> bool:
        """An assignment applies at its scope and every scope below it."""
        mine, theirs = self.scope.rstrip("/").lower(), scope.rstrip("/").lower()
        return mine == "" or theirs == mine or theirs.startswith(mine + "/")

    def allows(self, action: str) -> bool:
        return any(_matches(p, action) for p in self.actions) and not any(
            _matches(p, action) for p in self.not_actions
        )


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(pattern).replace(r"\*", ".*") + "$", re.I)


def _matches(pattern: str, action: str) -> bool:
    """Azure's wildcard: ``*`` stands for any run of characters, ``/`` included; case does not matter."""
    return bool(_pattern(pattern).match(action))


# ------------------------------------------------------------ definitions
def role(world: World, name: str) -> Json | None:
    """A built-in or custom role by name (case-insensitive), as ``{"id", "actions", "notActions"}``."""
    if name.lower() == DEFAULT_ROLE.lower():
        return _DEFAULT
    for known, definition in (*BUILTIN.items(), *world.rbac["roles"].items()):
        if known.lower() == name.lower():
            return definition
    return None


def define_role(world: World, spec: Json) -> Json:
    """A custom role from what ``az role definition create --role-definition`` takes (Name, Actions, …)."""
    name, actions = spec.get("Name") or spec.get("roleName"), spec.get("Actions", spec.get("actions"))
    not_actions = spec.get("NotActions", spec.get("notActions")) or []
    if not isinstance(name, str) or not name or not _strings(actions) or not _strings(not_actions):
        # InvalidRoleDefinition: the stand-in's own
        raise _control_error("InvalidRoleDefinition", "A role needs a Name and Actions (a list of strings).")
    if name.lower() in {n.lower() for n in (*BUILTIN, DEFAULT_ROLE)}:
        # RoleDefinitionWithSameNameExists: the stand-in's own
        raise _control_error("RoleDefinitionWithSameNameExists", f"A built-in role is named '{name}'.")
    definition = {"id": spec.get("Id") or name, "actions": list(actions), "notActions": list(not_actions)}
    world.rbac["roles"][name] = definition
    world.mark_changed()
    return {"name": name, **definition}


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _control_error(code: str, message: str) -> ArmError:
    return ArmError(400, code, message)


# ------------------------------------------------------------ assignments
def set_assignments(world: World, principal: str, assignments: object) -> list[Json]:
    """Replace ``principal``'s assignments with exactly these ``[{"role", "scope"}]``."""
    if not isinstance(assignments, list) or not all(isinstance(a, dict) for a in assignments):
        # InvalidRoleAssignment: the stand-in's own
        raise _control_error("InvalidRoleAssignment", "'assignments' must be a list of {role, scope}.")
    wanted = []
    for item in assignments:
        name, scope = item.get("role"), item.get("scope")
        if not isinstance(name, str) or role(world, name) is None:
            # RoleDefinitionDoesNotExist: the stand-in's own
            raise _control_error("RoleDefinitionDoesNotExist", f"The role '{name}' does not exist.")
        if not isinstance(scope, str) or not (scope == "/" or scope.lower().startswith("/subscriptions/")):
            # InvalidRoleAssignment: the stand-in's own
            raise _control_error(
                "InvalidRoleAssignment", f"'{scope}' is not a scope: '/' or /subscriptions/…."
            )
        wanted.append({"role": name, "scope": scope})
    world.rbac["assignments"][principal.lower()] = wanted
    world.mark_changed()
    return wanted


def assignments(world: World, principal: str) -> list[Json]:
    """``principal``'s assignments: its own if set, else the default role everywhere."""
    own = world.rbac["assignments"].get(principal.lower())
    return own if own is not None else [{"role": DEFAULT_ROLE, "scope": "/"}]


def grants(world: World, principal: str, scope: str) -> list[Grant]:
    """The assignments of ``principal`` that apply at ``scope``; none in an unreadable subscription."""
    sub = _subscription_of(scope)
    if sub is not None:
        found = world.subscriptions.get(sub.lower())
        if found is not None and not found["readable"]:
            return []
    out = []
    for item in assignments(world, principal):
        definition = role(world, item["role"])
        grant = (
            Grant(item["role"], item["scope"], tuple(definition["actions"]), tuple(definition["notActions"]))
            if definition
            else None
        )
        if grant is not None and grant.covers(scope):
            out.append(grant)
    return out


def allowed(world: World, principal: str, action: str, scope: str) -> bool:
    return any(g.allows(action) for g in grants(world, principal, scope))


def holds_any(world: World, principal: str, subscription: str) -> bool:
    """Whether ``principal`` holds anything in ``subscription`` (what ``GET /subscriptions`` lists)."""
    prefix = f"/subscriptions/{subscription}".lower()
    found = world.subscriptions.get(subscription.lower())
    if found is None or not found["readable"]:
        return False
    return any(
        a["scope"] == "/" or a["scope"].lower() == prefix or a["scope"].lower().startswith(prefix + "/")
        for a in assignments(world, principal)
    )


def _subscription_of(scope: str) -> str | None:
    parts = scope.strip("/").split("/")
    return parts[1] if len(parts) >= 2 and parts[0].lower() == "subscriptions" else None


# ------------------------------------------------------------ requests
_STATUS = ("operations", "operationresults")


def action_of(method: str, path: str) -> tuple[str, str] | None:
    """The action and scope ARM authorizes ``method path`` as; ``None`` for what needs no role.

    The types are the path's type segments after its last ``providers/<namespace>`` (or under
    Microsoft.Resources before any provider): ``GET`` reads, ``PUT``/``PATCH`` write, ``DELETE``
    deletes, a ``POST`` to ``…/<name>`` is ``…/<name>/action``. Azure Monitor's metrics are read
    whatever the method (a POST only carries the query in its body).
    """
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        return None
    last = max((i for i, p in enumerate(parts) if p.lower() == "providers"), default=None)
    if last is None:
        namespace, tail, base = "Microsoft.Resources", parts, []
    elif last + 2 >= len(parts):  # the provider registrations: GET /providers, /providers/<namespace>
        return "Microsoft.Resources/subscriptions/providers/read", "/" + "/".join(parts[:2])
    else:
        namespace, tail, base = parts[last + 1], parts[last + 2 :], parts[:last]
    if namespace.lower() == "microsoft.authorization" and tail[:1] and tail[0].lower() == "permissions":
        return None  # every caller may read its own permissions
    if len(tail) >= 3 and tail[0].lower() == "locations" and tail[2].lower() in _STATUS:
        return None  # a long-running operation's status: whoever started it polls it, at any scope
    verb = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(method)
    if namespace.lower() == "microsoft.insights" and tail[:1] and tail[0].lower() == "metrics":
        verb = "read"
    named = tail if verb else tail[:-1]
    types = named[0::2]
    scope_parts = base + (["providers", namespace] if last is not None else []) + named
    if len(named) % 2 == 1:  # a collection: the scope is its parent
        scope_parts = scope_parts[:-1]
    if scope_parts[-2:-1] == ["providers"] or scope_parts[-1:] == ["providers"]:
        scope_parts = scope_parts[: -2 if scope_parts[-2:-1] == ["providers"] else -1]
    action = "/".join([namespace, *types, verb or f"{tail[-1]}/action"])
    return action, "/" + "/".join(scope_parts)


def authorize(world: World, principal: str, method: str, path: str) -> None:
    """Refuse ``method path`` unless ``principal`` holds its action at its scope."""
    found = action_of(method, path)
    if found is None:
        return
    action, scope = found
    if not allowed(world, principal, action, scope):
        raise ArmError(
            403,
            # AuthorizationFailed: ARM's code: azure-docs common-deployment-errors.md; message as
            # ARM answers it, quoted in Azure/ARO-RP#66 and #31
            "AuthorizationFailed",
            f"The client '{principal}' with object id '{principal}' does not have authorization to perform "
            f"action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, "
            "please refresh your credentials.",
        )


def permissions(world: World, principal: str, scope: str) -> Json:
    """Permissions_ListForResourceGroup / _ListForResource's answer: one entry per role that applies."""
    return {
        "value": [
            {
                "actions": list(g.actions),
                "notActions": list(g.not_actions),
                "dataActions": [],
                "notDataActions": [],
            }
            for g in grants(world, principal, scope)
        ]
    }
