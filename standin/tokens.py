"""OAuth 2.0 grants the stand-in has issued: authorization codes, access and refresh tokens.

Access tokens look like Wikimedia's (a JWT); refresh tokens are opaque and rotate on every use,
and a refresh also revokes the access token it replaces, as league/oauth2-server does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field


@dataclass
class CodeGrant:
    user: str
    client_id: str
    redirect_uri: str | None
    grants: list[str]
    expires: float
    challenge: str | None = None
    challenge_method: str = "plain"
    used: bool = False


@dataclass
class AccessGrant:
    user: str
    client_id: str
    grants: list[str]
    expires: float
    revoked: bool = False


@dataclass
class RefreshGrant:
    user: str
    client_id: str
    grants: list[str]
    access_token: str
    expires: float
    revoked: bool = False


@dataclass
class TokenStore:
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    access: dict[str, AccessGrant] = field(default_factory=dict)
    refresh: dict[str, RefreshGrant] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def new_code(self, grant: CodeGrant) -> str:
        code = "def50200" + secrets.token_hex(40)
        with self.lock:
            self.codes[code] = grant
        return code

    def issue(self, user: str, central_id: int, client_id: str, grants: list[str],
              now: float, ttl: int) -> tuple[str, str]:
        """A new access token (JWT-shaped) and refresh token for ``user``."""
        access = self._jwt({
            "aud": client_id, "jti": secrets.token_hex(40), "iat": now, "nbf": now,
            "exp": now + ttl, "sub": str(central_id), "iss": "https://meta.standin",
            "ratelimit": {"requests_per_unit": 5000, "unit": "HOUR"}, "scopes": grants,
        })
        refresh = "def50200" + secrets.token_hex(64)
        with self.lock:
            self.access[access] = AccessGrant(user, client_id, list(grants), now + ttl)
            self.refresh[refresh] = RefreshGrant(user, client_id, list(grants), access,
                                                 now + 365 * 86400)
        return access, refresh

    def valid_access(self, token: str, now: float) -> AccessGrant | None:
        grant = self.access.get(token)
        if grant is None or grant.revoked or grant.expires <= now:
            return None
        return grant

    def expire_user(self, user: str | None = None) -> int:
        """Make access tokens (of one user, or all) expire now; returns how many."""
        n = 0
        with self.lock:
            for grant in self.access.values():
                if user is None or grant.user == user:
                    grant.expires = 0
                    n += 1
        return n

    def revoke_user(self, user: str) -> int:
        n = 0
        with self.lock:
            for grant in [*self.access.values(), *self.refresh.values()]:
                if grant.user == user:
                    grant.revoked = True
                    n += 1
        return n

    def _jwt(self, payload: dict) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        head = b64(json.dumps({"typ": "JWT", "alg": "RS256", "jti": payload["jti"]}).encode())
        body = b64(json.dumps(payload).encode())
        sig = b64(hmac.new(self.secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig}"


def pkce_ok(verifier: str | None, challenge: str | None, method: str) -> bool:
    if challenge is None:
        return True
    if not verifier:
        return False
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
    return secrets.compare_digest(verifier, challenge)
