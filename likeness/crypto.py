"""Encryption at rest for OAuth tokens (Fernet: AES-128-CBC with an HMAC, from ``cryptography``).

The key comes from config (``oauth.token_key``); without one it is derived from ``secret_key`` so a
local install works out of the box. A database dump alone never yields a usable token.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from likeness.config import Config, ConfigError


class TokenCipher:
    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_config(cls, cfg: Config) -> TokenCipher:
        if cfg.oauth.token_key:
            return cls(cfg.oauth.token_key)
        if not cfg.secret_key:
            raise ConfigError("set secret_key (or oauth.token_key) to store OAuth tokens")
        digest = hashlib.sha256(b"likeness-token-key:" + cfg.secret_key.encode()).digest()
        return cls(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str | None) -> bytes | None:
        if plaintext is None:
            return None
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, ciphertext: bytes | None) -> str | None:
        """None for a missing token; raises ``InvalidToken`` when the key changed."""
        if ciphertext is None:
            return None
        return self._fernet.decrypt(bytes(ciphertext)).decode("utf-8")


__all__ = ["TokenCipher", "InvalidToken"]
