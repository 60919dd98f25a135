"""An Entra ID stand-in: OpenID discovery and the client-credentials token endpoint.

Tokens are HS256 JWTs signed with a key kept in the world's state, so a token stays valid
across a restart of a persisted sandbox, and a token from anywhere else is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import parse_qs

from .errors import ArmError
from .world import Identity, Json

TOKEN_SECONDS = 3600
AUDIENCE = "https://management.azure.com"


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


def issue_token(identity: Identity, tenant: str, form_body: bytes) -> tuple[int, Json]:
    """Answer a client-credentials request the way Entra ID does, errors included."""
    form = {k: v[0] for k, v in parse_qs(form_body.decode()).items()}
    if tenant.lower() != identity.tenant_id.lower():
        return _oauth_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", "AADSTS70003: The sandbox supports client_credentials only."
        )
    if form.get("client_id") != identity.client_id:
        return _oauth_error(
            400, "unauthorized_client", f"AADSTS700016: Application '{form.get('client_id')}' was not found."
        )
    if not hmac.compare_digest(form.get("client_secret", ""), identity.client_secret):
        return _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    now = int(time.time())
    claims = {
        "aud": AUDIENCE,
        "iss": f"https://sts.windows.net/{identity.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_SECONDS,
        "appid": identity.client_id,
        "oid": identity.client_id,
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


def check_bearer(identity: Identity, authorization: str | None) -> None:
    """Refuse an ARM call that does not carry a live token this sandbox issued."""
    challenge = {
        "WWW-Authenticate": f'Bearer authorization_uri="https://login.microsoftonline.com/{identity.tenant_id}", '
        'error="invalid_token", error_description="The authentication failed"'
    }
    if not authorization or not authorization.startswith("Bearer "):
        raise ArmError(
            401,
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
        raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.", headers=challenge)
    if claims.get("exp", 0) < time.time():
        raise ArmError(
            401,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
            headers=challenge,
        )
