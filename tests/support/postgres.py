"""The PostgreSQL server the multi-process tests and the benchmarks create their databases on."""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

PG = os.environ.get("EDN_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DROP_DATABASE = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")


def postgres_or_skip() -> None:
    """Skip the test when PostgreSQL is unreachable (fail it under EDN_REQUIRE_SERVICES=1)."""
    import pytest

    from tests.conftest import REQUIRE_SERVICES

    try:
        psycopg.connect(f"{PG}/postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        if REQUIRE_SERVICES:
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but PostgreSQL is unreachable: {error}")
        pytest.skip(f"PostgreSQL is unreachable: {error}")


def admin_connect(server_url: str) -> psycopg.Connection:
    return psycopg.connect(f"{server_url}/postgres", autocommit=True, connect_timeout=10)


def recreate_databases(server_url: str, names: list[str]) -> str:
    """Drop (if there) and create each database; return the server's version, e.g. ``16.4``."""
    with admin_connect(server_url) as conn:
        for name in names:
            conn.execute(DROP_DATABASE.format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = conn.info.server_version
    return f"{version // 10000}.{version % 10000}"


def drop_databases(server_url: str, names: list[str]) -> None:
    with admin_connect(server_url) as conn:
        for name in names:
            conn.execute(DROP_DATABASE.format(sql.Identifier(name)))


def server_settings(server_url: str, *names: str) -> str:
    """``name=value, ...`` of the server's settings ``names`` (what durability it runs with)."""
    with admin_connect(server_url) as conn:
        values = {
            name: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]
            for name in names
        }
    return ", ".join(f"{name}={value}" for name, value in values.items())
