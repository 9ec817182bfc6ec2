"""The shared configuration vocabulary through the Python API."""

from __future__ import annotations

import datetime

import pytest

import unipool
from unipool import ConfigError, PoolConfig


def creator():  # never called by these tests
    raise AssertionError("creator must not run")


def test_defaults_are_sqlalchemys():
    c = PoolConfig()
    assert (c.pool_size, c.max_overflow, c.pool_timeout, c.pool_recycle) == (5, 10, 30.0, None)
    assert c.pool_pre_ping is False and c.use_lifo is False and c.reset_on_return == "rollback"
    assert c.max_size == 15 and c.min_idle == 0


def test_keyword_arguments_and_aliases():
    p = unipool.Pool(creator, pool_size=3, max_overflow=4, timeout="2s", pool_recycle=datetime.timedelta(minutes=5))
    c = p.config
    assert (c.pool_size, c.max_overflow, c.pool_timeout, c.pool_recycle) == (3, 4, 2.0, 300.0)
    # asyncpg / sqlx / pg-pool / HikariCP spellings, camelCase too
    assert PoolConfig(min_size=2, max_size=8).pool_size == 8
    c = PoolConfig(max_connections=6, acquire_timeout=1.5)
    assert (c.pool_size, c.max_overflow, c.pool_timeout) == (6, 0, 1.5)
    c = PoolConfig(idleTimeoutMillis=2500, max=4)
    assert c.idle_timeout == 2.5 and c.max_size == 4
    c = PoolConfig(maximumPoolSize=9, connectionTimeout=250)
    assert (c.pool_size, c.pool_timeout) == (9, 0.25)
    p.close()


def test_invalid_value_names_key_value_and_allowed():
    with pytest.raises(ConfigError) as ei:
        unipool.Pool(creator, pool_size=-3)
    e = ei.value
    assert isinstance(e, ValueError)
    assert e.config_key == "pool_size" and "-3" in str(e)
    assert e.kind == "invalid_config" and e.code == "UNIPOOL_INVALID_CONFIG" and not e.retryable


def test_unknown_key_is_rejected_with_a_hint():
    with pytest.raises(ConfigError) as ei:
        unipool.Pool(creator, pool_sise=3)
    assert "pool_sise" in str(ei.value)
    assert "pool_size" in str(ei.value)


def test_wrong_type_is_rejected():
    with pytest.raises(ConfigError) as ei:
        PoolConfig(pool_size=[1, 2])
    assert ei.value.config_key == "pool_size" and "list" in str(ei.value)
    with pytest.raises(ConfigError):
        PoolConfig(pool_timeout="soon")


def test_invalid_combination():
    with pytest.raises(ConfigError) as ei:
        PoolConfig(pool_size=2, max_overflow=0, min_idle=5)
    assert ei.value.config_key == "min_idle"


def test_from_env(monkeypatch):
    monkeypatch.setenv("MYAPP_POOL_SIZE", "7")
    monkeypatch.setenv("MYAPP_POOL_TIMEOUT", "1.25")
    monkeypatch.setenv("MYAPP_POOL_PRE_PING", "true")
    p = unipool.Pool.from_env(creator, prefix="MYAPP_POOL_")
    c = p.config
    assert (c.pool_size, c.pool_timeout, c.pool_pre_ping) == (7, 1.25, True)
    p.close()
    monkeypatch.setenv("MYAPP_POOL_SIZZE", "3")
    with pytest.raises(ConfigError) as ei:
        PoolConfig.from_env("MYAPP_POOL_")
    assert "MYAPP_POOL_SIZZE" in str(ei.value)


def test_from_toml_string_and_file(tmp_path):
    text = '[database.pool]\npool_size = 8\npool_timeout = "2s"\nname = "fromtoml"\n'
    p = unipool.Pool.from_toml(creator, text)
    assert (p.config.pool_size, p.config.pool_timeout, p.name) == (8, 2.0, "fromtoml")
    p.close()
    f = tmp_path / "app.toml"
    f.write_text(text)
    p = unipool.Pool.from_toml(creator, f)
    assert p.config.pool_size == 8
    p.close()
    with pytest.raises(ConfigError):
        PoolConfig.from_toml("[database.pool]\npool_size = -1\n")


def test_profiles_with_overrides():
    p = unipool.Pool.from_profile(creator, "testing", pool_timeout=1)
    c = p.config
    assert (c.pool_size, c.max_overflow, c.pool_timeout) == (1, 2, 1.0)
    p.close()
    with pytest.raises(ConfigError) as ei:
        PoolConfig.profile("huge")
    assert "development" in str(ei.value)


def test_from_url_strips_pool_parameters_and_keeps_passwords_out_of_errors():
    c, rest = PoolConfig.from_url("postgresql://u:sekret@h/db?pool_size=3&sslmode=require")
    assert c.pool_size == 3 and rest == "postgresql://u:sekret@h/db?sslmode=require"
    with pytest.raises(ConfigError) as ei:
        PoolConfig.from_url("postgresql://u:sekret@h/db?pool_size=abc")
    assert "sekret" not in str(ei.value)


def test_to_dict_and_repr():
    c = PoolConfig(pool_size=4, name="x")
    d = c.to_dict()
    assert d["pool_size"] == "4" and d["name"] == "x"
    assert "pool_size=4" in repr(c)
    assert PoolConfig(pool_size=4, name="x") == c


def test_sqlalchemy_pool_rejects_bad_core_settings(sa_pg_url):
    import sqlalchemy as sa
    from unipool.sqlalchemy import QueuePool

    with pytest.raises(ConfigError) as ei:
        sa.create_engine(sa_pg_url, poolclass=QueuePool, pool_size=2, min_idle=5)
    assert ei.value.config_key == "min_idle"
    with pytest.raises(ConfigError):
        sa.create_engine(sa_pg_url, poolclass=QueuePool, max_overflow=-5)
