import os
from pathlib import Path

import pytest

from likeness.config import TOOLSDB_HOST, ConfigError, load_config
from likeness.useragent import user_agent


def write_private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_defaults_point_at_real_wikimedia_and_local_sqlite(tmp_path):
    cfg = load_config(path=tmp_path / "absent.yaml", environ={})
    assert cfg.wiki.commons_api == "https://commons.wikimedia.org/w/api.php"
    assert cfg.wiki.oauth_base == "https://meta.wikimedia.org/w/rest.php"
    assert cfg.database_url.startswith("sqlite:///")
    assert not cfg.login_available


def test_precedence_defaults_then_yaml_then_environment(tmp_path):
    yaml_text = "worker:\n  pool_size: 3\n  poll_interval: 7\noauth:\n  client_id: fromyaml\n"
    path = write_private(tmp_path / "config.yaml", yaml_text)
    env = {"TOOL_WORKER__POOL_SIZE": "5", "TOOL_SECRET_KEY": "s3cret", "OTHER": "ignored"}
    cfg = load_config(path=path, environ=env)
    assert cfg.worker.pool_size == 5          # environment beats YAML
    assert cfg.worker.poll_interval == 7.0    # YAML beats defaults
    assert cfg.oauth.client_id == "fromyaml"
    assert cfg.secret_key == "s3cret"
    assert cfg.worker.lease_seconds == 120    # default kept


def test_world_readable_config_is_refused(tmp_path):
    path = write_private(tmp_path / "config.yaml", "secret_key: x\n", mode=0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config(path=path, environ={})


def test_toolsdb_credentials_select_toolsdb(tmp_path):
    env = {"TOOL_TOOLSDB_USER": "s55123", "TOOL_TOOLSDB_PASSWORD": "p@ss/word"}
    url = load_config(path=tmp_path / "absent", environ=env).database_url
    assert url == (f"mysql+pymysql://s55123:p%40ss%2Fword@{TOOLSDB_HOST}/"
                   "s55123__likeness?charset=utf8mb4")


def test_explicit_database_url_beats_toolsdb(tmp_path):
    env = {"TOOL_TOOLSDB_USER": "s1", "TOOL_DATABASE__URL": "sqlite:///x.db"}
    assert load_config(path=tmp_path / "absent", environ=env).database_url == "sqlite:///x.db"


@pytest.mark.parametrize("env, message", [
    ({"TOOL_WORKER__POOL_SIZE": "many"}, "worker.pool_size"),
    ({"TOOL_NOPE": "1"}, "unknown config key"),
    ({"TOOL_WORKER__TYPO": "1"}, "worker.typo"),
    # Admins are Wikimedia user ids: a user name (as older configs had) is refused.
    ({"TOOL_APP__ADMINS": "Alice"}, "app.admins: cannot read 'Alice' as int"),
    ({"TOOL_APP__PROXY_HOPS": "-1"}, "app.proxy_hops"),
    ({"TOOL_QUOTAS__MAX_DEPTH": "11"}, "quotas.max_depth"),
    ({"TOOL_QUOTAS__FILES_PER_PROJECT": "0"}, "quotas.files_per_project"),
])
def test_bad_values_name_the_key(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(path=tmp_path / "absent", environ=env)


def test_booleans_and_lists_from_environment(tmp_path):
    env = {"TOOL_SECURE_COOKIES": "false", "TOOL_APP__ADMINS": "123, 4567"}
    cfg = load_config(path=tmp_path / "absent", environ=env)
    assert cfg.secure_cookies is False
    assert cfg.app.admins == (123, 4567)


def test_every_key_is_documented_in_the_example():
    from likeness.config import REPO_ROOT

    example = (REPO_ROOT / "config.yaml.example").read_text()
    cfg = load_config(path="/absent", environ={})
    import dataclasses

    def keys(obj, prefix=""):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                yield from keys(value, prefix + f.name + ".")
            else:
                yield prefix + f.name

    missing = [k for k in keys(cfg) if f"{k.split('.')[-1]}:" not in example]
    assert not missing, f"undocumented keys: {missing}"


def test_user_agent_names_tool_url_and_contact(tmp_path):
    cfg = load_config(path=tmp_path / "absent", environ={"TOOL_APP__CONTACT": "me@example.org"})
    ua = user_agent(cfg)
    assert ua.startswith("Likeness/")
    assert "https://likeness.toolforge.org/" in ua and "me@example.org" in ua
