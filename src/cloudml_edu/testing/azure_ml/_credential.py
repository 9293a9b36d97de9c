"""A credential for the fake: an unsigned token with the claims azure-ai-ml reads, valid nowhere."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

__all__ = ["FAKE_TENANT", "FakeCredential"]

#: The tenant of the fake's subscription (and of a credential made without one).
FAKE_TENANT = "33333333-4444-4555-8666-777777777777"


def fake_jwt(audience: str = "https://management.azure.com", tenant: str = FAKE_TENANT) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {
        "oid": "22222222-3333-4444-8555-666666666666",
        "tid": tenant,
        "upn": "student@example.edu",
        "exp": 4102444800,
        "aud": audience,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.fake"


def token_tenant(authorization: str) -> str:
    """The ``tid`` claim of a ``Bearer`` token made by :func:`fake_jwt` ('' if unreadable)."""
    try:
        payload = authorization.removeprefix("Bearer ").split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return ""
    return str(claims.get("tid", ""))


class FakeCredential:
    """A ``TokenCredential`` handing out tokens of ``tenant`` without touching the network.

    Like ``DefaultAzureCredential(tenant_id=...)``, a token is for the tenant it
    was made for: one signed into the wrong tenant gets InvalidAuthenticationTokenTenant.
    """

    def __init__(self, tenant: str = FAKE_TENANT) -> None:
        self.tenant = tenant
        self.token = fake_jwt(tenant=tenant)

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """A token whose audience is the first scope's resource."""
        from azure.core.credentials import AccessToken

        audience = scopes[0].removesuffix("/.default") if scopes else ""
        tenant = str(kwargs.get("tenant_id") or self.tenant)
        token = fake_jwt(audience, tenant) if audience else self.token
        return AccessToken(token, int(time.time()) + 3600)
