import pytest
from cryptography.fernet import Fernet

from likeness.config import ConfigError, load_config
from likeness.crypto import InvalidToken, TokenCipher


def test_round_trip_with_configured_key():
    key = Fernet.generate_key().decode()
    cfg = load_config(path="/absent", environ={"TOOL_OAUTH__TOKEN_KEY": key})
    cipher = TokenCipher.from_config(cfg)
    secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature"
    stored = cipher.encrypt(secret)
    assert secret.encode() not in stored
    assert cipher.decrypt(stored) == secret
    assert cipher.encrypt(None) is None and cipher.decrypt(None) is None


def test_key_derived_from_secret_key_and_wrong_key_refused():
    a = TokenCipher.from_config(load_config(path="/absent", environ={"TOOL_SECRET_KEY": "a"}))
    b = TokenCipher.from_config(load_config(path="/absent", environ={"TOOL_SECRET_KEY": "b"}))
    stored = a.encrypt("token")
    assert a.decrypt(stored) == "token"
    with pytest.raises(InvalidToken):
        b.decrypt(stored)


def test_no_key_at_all_is_a_clear_error():
    with pytest.raises(ConfigError, match="secret_key"):
        TokenCipher.from_config(load_config(path="/absent", environ={}))
