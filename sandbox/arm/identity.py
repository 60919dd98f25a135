"""An Entra ID stand-in: OpenID discovery, the client-credentials token endpoint, and the cloud it is in.

Tokens are HS256 JWTs signed with a key kept in the world's state, so a token stays valid
across a restart of a persisted sandbox, and a token from anywhere else is refused.

The sandbox plays one Azure cloud (public Azure unless told otherwise). Like Entra ID there, it
issues tokens only for resources that cloud has, and like ARM there, it accepts only tokens whose
audience is that cloud's ARM. ARM's ``/metadata/endpoints`` document tells clients (the Azure
CLI's ``az cloud register``) which login endpoint and audience belong together.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

from .errors import ArmError
from .world import Identity, Json

TOKEN_SECONDS = 3600


@dataclass(frozen=True)
class Cloud:
    """What one Azure cloud's ARM and Entra ID agree on (azure-cli's azure/cli/core/cloud.py
    KNOWN_CLOUDS, and ARM's own /metadata/endpoints document)."""

    name: str
    audiences: tuple[str, ...]  # ARM's token audiences; the first is what the metadata names first
    graph: tuple[str, ...]  # Microsoft Graph and the older AAD Graph: resources Entra ID knows too
    portal: str
    suffixes: dict[str, str]

    def arm_audiences(self) -> list[str]:
        """Every spelling ARM accepts: each audience with and without its trailing slash, the order
        of ARM's InvalidAuthenticationTokenAudience message."""
        return [spelling for a in self.audiences for spelling in (a, a.rstrip("/"))]


CLOUDS: dict[str, Cloud] = {
    c.name.lower(): c
    for c in (
        Cloud(
            "AzureCloud",
            ("https://management.core.windows.net/", "https://management.azure.com/"),
            ("https://graph.microsoft.com/", "https://graph.windows.net/"),
            "https://portal.azure.com",
            {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net", "acrLoginServer": "azurecr.io"},
        ),
        Cloud(
            "AzureUSGovernment",
            ("https://management.core.usgovcloudapi.net/", "https://management.usgovcloudapi.net/"),
            ("https://graph.microsoft.us/", "https://graph.microsoftazure.us/"),
            "https://portal.azure.us",
            {
                "storage": "core.usgovcloudapi.net",
                "keyVaultDns": "vault.usgovcloudapi.net",
                "acrLoginServer": "azurecr.us",
            },
        ),
        Cloud(
            "AzureChinaCloud",
            ("https://management.core.chinacloudapi.cn/", "https://management.chinacloudapi.cn/"),
            ("https://microsoftgraph.chinacloudapi.cn/", "https://graph.chinacloudapi.cn/"),
            "https://portal.azure.cn",
            {
                "storage": "core.chinacloudapi.cn",
                "keyVaultDns": "vault.azure.cn",
                "acrLoginServer": "azurecr.cn",
            },
        ),
    )
}
PUBLIC = CLOUDS["azurecloud"]


def cloud(name: str) -> Cloud:
    found = CLOUDS.get(name.lower())
    if found is None:
        raise ValueError(f"unknown cloud {name!r}: one of {', '.join(c.name for c in CLOUDS.values())}")
    return found


def metadata_endpoints(base_url: str, where: Cloud, version: str) -> Json | list[Json]:
    """ARM's ``GET /metadata/endpoints`` for this sandbox: its own login endpoint and ARM URL, the
    cloud's audiences. 2022-09-01 answers one cloud, 2019-05-01 and 2020-06-01 a list of clouds,
    2015-01-01 and 2018-01-01 the older flat shape (Azure Stack's documented call)."""
    arm = base_url.rstrip("/") + "/"
    if version < "2019-05-01":
        return {
            "galleryEndpoint": arm,
            "graphEndpoint": where.graph[-1],
            "portalEndpoint": where.portal + "/",
            "authentication": {"loginEndpoint": arm, "audiences": list(where.audiences)},
        }
    document = {
        "name": where.name,
        "portal": where.portal,
        "authentication": {
            "loginEndpoint": base_url.rstrip("/"),
            "audiences": list(where.audiences),
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "resourceManager": arm,
        "gallery": arm,
        "graph": where.graph[-1],
        "graphAudience": where.graph[-1],
        "microsoftGraphResourceId": where.graph[0],
        "suffixes": dict(where.suffixes),
    }
    return document if version >= "2022-09-01" else [document]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def openid_configuration(base_url: str, tenant: str) -> Json:
    issuer = f"{base_url}/{tenant}/v2.0"
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base_url}/{tenant}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base_url}/{tenant}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base_url}/{tenant}/oauth2/v2.0/devicecode",
        "jwks_uri": f"{base_url}/{tenant}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "WW",
    }


def _oauth_error(status: int, error: str, description: str) -> tuple[int, Json]:
    return status, {"error": error, "error_description": description, "error_codes": [], "timestamp": ""}


def _resource_of(scope: str) -> str:
    """The resource a v2 ``.default`` scope names: ``https://management.core.windows.net//.default``
    (what azure-cli asks for) is the resource ``https://management.core.windows.net/``."""
    first = scope.split()[0] if scope.split() else ""
    return first[: -len("/.default")] if first.endswith("/.default") else first


def _known(resource: str, where: Cloud) -> bool:
    wanted = resource.rstrip("/").lower()
    return any(r.rstrip("/").lower() == wanted for r in (*where.audiences, *where.graph))


def issue_token(identity: Identity, tenant: str, form_body: bytes, where: Cloud = PUBLIC) -> tuple[int, Json]:
    """Answer a client-credentials request the way Entra ID does, errors included."""
    form = {k: v[0] for k, v in parse_qs(form_body.decode()).items()}
    if tenant.lower() != identity.tenant_id.lower():
        return _oauth_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", "AADSTS70003: The sandbox supports client_credentials only."
        )
    client_id = form.get("client_id") or ""
    secret = identity.secret_of(client_id)
    if secret is None:
        return _oauth_error(
            400, "unauthorized_client", f"AADSTS700016: Application '{form.get('client_id')}' was not found."
        )
    if not hmac.compare_digest(form.get("client_secret", ""), secret):
        return _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    resource = _resource_of(form.get("scope", ""))
    if not resource:
        # AADSTS90014 (learn.microsoft.com/entra/identity-platform/reference-error-codes): the v2
        # endpoint needs a scope.
        return _oauth_error(
            400, "invalid_request", "AADSTS90014: The required field 'scope' is missing from the credential."
        )
    if not _known(resource, where):
        # AADSTS500011, InvalidResourceServicePrincipalNotFound (same page): a public-cloud tenant
        # has no service principal for another cloud's ARM, e.g. https://management.usgovcloudapi.net.
        return _oauth_error(
            400,
            "invalid_resource",
            f"AADSTS500011: The resource principal named {resource} was not found in the tenant named "
            f"{identity.tenant_id}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You might have sent "
            "your authentication request to the wrong tenant.",
        )
    now = int(time.time())
    claims = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{identity.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_SECONDS,
        "appid": client_id,
        "oid": client_id,
        "tid": identity.tenant_id,
        "uti": uuid.uuid4().hex,
    }
    return 200, {
        "token_type": "Bearer",
        "expires_in": TOKEN_SECONDS,
        "ext_expires_in": TOKEN_SECONDS,
        "access_token": _sign(identity, claims),
    }


def _sign(identity: Identity, claims: Json) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(
        identity.signing_key.encode(), f"{header}.{payload}".encode(), hashlib.sha256
    ).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def check_bearer(identity: Identity, authorization: str | None, where: Cloud = PUBLIC) -> str:
    """Refuse an ARM call that does not carry a live token this sandbox issued for its ARM; the
    caller's object id (what role assignments name) when it does."""
    challenge = {
        "WWW-Authenticate": f'Bearer authorization_uri="https://login.microsoftonline.com/{identity.tenant_id}", '
        'error="invalid_token", error_description="The authentication failed"'
    }
    if not authorization or not authorization.startswith("Bearer "):
        raise ArmError(
            401,
            # AuthenticationFailed: ARM's code, as answered in Azure/azure-sdk-for-java#557
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers=challenge,
        )
    token = authorization[len("Bearer ") :].strip()
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(
            identity.signing_key.encode(), f"{header}.{payload}".encode(), hashlib.sha256
        ).digest()
        valid = hmac.compare_digest(_unb64(signature), expected)
        claims = json.loads(_unb64(payload)) if valid else {}
    except ValueError:
        valid, claims = False, {}
    if not valid:
        # InvalidAuthenticationToken: ARM's code, as answered in Azure/azure-sdk-for-java#1714
        raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.", headers=challenge)
    if claims.get("exp", 0) < time.time():
        raise ArmError(
            401,
            # ExpiredAuthenticationToken: ARM's code, as answered in hashicorp/terraform-provider-azurerm#20867
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
            headers=challenge,
        )
    allowed = where.arm_audiences()
    if claims.get("aud") not in allowed:
        # ARM's answer to a token for another resource (Azure-Samples/active-directory-dotnetcore-
        # daemon-v2#145): 401 InvalidAuthenticationTokenAudience, naming the allowed audiences.
        raise ArmError(
            401,
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. "
            f"It should exactly match with one of the allowed audiences {','.join(repr(a) for a in allowed)}.",
            headers=challenge,
        )
    return str(claims.get("oid") or identity.client_id)
