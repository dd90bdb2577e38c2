"""What cannot work stops start-up with one line and exit code 2, never a traceback: an unusable data
directory or ledger, a storage URL that cannot be read, a config block the environment cannot write
into, a port outside 0-65535 or one in use. ``gatewise doctor`` shows the same line as a failed check
and runs the others."""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from gatewise.servers.routing_gateway.server import create_server as gateway_server
from mcp import Client, MCPError

from gatewise.catalog import CatalogCache
from gatewise.config import Settings, load_settings
from gatewise.errors import GatewiseError
from gatewise.ledger import SCHEMA_VERSION
from pg_support import ADMIN_URL, throwaway_database

SERVER = [sys.executable, "-m", "gatewise.servers.routing_gateway"]
CLI = [sys.executable, "-m", "gatewise.cli"]


def run(cmd: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.startswith("GATEWISE_")}
    env.update(env_extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)


def assert_one_line(proc: subprocess.CompletedProcess[str], line: str, code: int = 2) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, proc.stderr
    assert proc.stderr == line + "\n"


def a_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "data"
    path.write_text("not a directory")
    return path, f"data directory {path} is not a directory"


def random_ledger(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "data"
    path.mkdir()
    (path / "ledger.sqlite3").write_bytes(os.urandom(10_000))
    return path, f"ledger {path / 'ledger.sqlite3'} is not a SQLite database"


def random_cache(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "data"
    path.mkdir()
    (path / "cache.sqlite3").write_bytes(b"x" * 4096)
    return path, (f"cache {path / 'cache.sqlite3'} is not a SQLite database; delete it: it holds only "
                  "cached answers")


def newer_ledger(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "data"
    path.mkdir()
    with sqlite3.connect(path / "ledger.sqlite3") as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", [SCHEMA_VERSION + 1])
    conn.close()
    return path, (f"ledger {path / 'ledger.sqlite3'} has schema version {SCHEMA_VERSION + 1}, but this "
                  f"gatewise only understands up to version {SCHEMA_VERSION}; upgrade gatewise or point it "
                  "at another data_dir")


def read_only_dir(tmp_path: Path) -> tuple[Path, str]:
    if os.geteuid() == 0:  # root writes whatever the mode says
        pytest.skip("permissions do not stop root")
    path = tmp_path / "data"
    path.mkdir(mode=0o500)
    return path, f"data directory {path} is not writable (Permission denied)"


UNUSABLE: list[Callable[[Path], tuple[Path, str]]] = [a_file, random_ledger, random_cache, newer_ledger,
                                                      read_only_dir]


@pytest.mark.parametrize("make", UNUSABLE, ids=lambda make: make.__name__)
def test_an_unusable_data_dir_stops_every_entry_point_in_one_line(tmp_path: Path, make, sandbox) -> None:
    data_dir, reason = make(tmp_path)
    env = {"GATEWISE_DATA_DIR": str(data_dir), "GATEWISE_SANDBOX_URL": sandbox.url, "HOME": str(tmp_path)}
    assert_one_line(run(SERVER, env), f"gatewise-routing-gateway: {reason}")
    assert_one_line(run([*CLI, "serve", "--port", "0"], env), f"gatewise serve: {reason}")
    assert_one_line(run([*CLI, "migrate"], env), f"gatewise migrate: {reason}")
    doctor = run([*CLI, "doctor"], env)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr, doctor.stderr
    assert f"[!!] storage SQLite {data_dir / 'ledger.sqlite3'}: {reason}\n" in doctor.stdout
    dir_usable = data_dir.is_dir() and "writable" not in reason
    assert ("[ok] data directory" if dir_usable else f"[!!] {reason}") in doctor.stdout
    for later in ("[ok] route simple_query", f"[ok] upstream sandbox at {sandbox.url}: answers",
                  "[ok] web search"):
        assert later in doctor.stdout, later


async def test_a_server_opened_on_a_broken_ledger_names_it_at_each_call(tmp_path: Path, sandbox) -> None:
    """A server opened in-process (no start-up check before it) still answers with the reason,
    not INTERNAL."""
    data_dir, reason = random_ledger(tmp_path)
    settings = load_settings({}, data_dir=data_dir, sandbox_url=sandbox.url)
    async with Client(gateway_server(settings)) as client:
        for _ in range(2):
            with pytest.raises(MCPError) as caught:
                await client.call_tool("get_budget_status", {})
            assert str(caught.value).startswith(f"CONFIG_ERROR: {reason} Hint: Fix the path named above")


def test_a_catalogue_that_cannot_be_kept_is_a_warning(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "data").write_text("a file")
    cache = CatalogCache(tmp_path / "data" / "catalog-sandbox.json", ttl_s=60)
    with caplog.at_level(logging.WARNING, "gatewise.catalog"):
        cache.store({"data": []}, "sandbox")
    assert cache.load(allow_stale=True) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"the model catalogue cannot be kept at {cache.path} (File exists); it is fetched again at the "
        "next start"]


def test_a_role_that_cannot_migrate_is_one_line_and_doctor_goes_on(tmp_path: Path, sandbox) -> None:
    with throwaway_database() as url:
        role = f"gw_ro_{url.rsplit('_', 1)[-1]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE ROLE "{role}" LOGIN')
        try:
            with psycopg.connect(url, autocommit=True) as db:  # PostgreSQL 15's default, said outright
                db.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            ro_url = url.replace("postgres@", f"{role}:ro-secret-pw@", 1)
            shown = url.replace("postgres@", f"{role}@", 1)
            env = {"GATEWISE_DATA_DIR": str(tmp_path / "data"), "GATEWISE_DATABASE_URL": ro_url,
                   "GATEWISE_SANDBOX_URL": sandbox.url}
            reason = f"cannot migrate {shown}: permission denied for schema public"
            assert_one_line(run(SERVER, env), f"gatewise-routing-gateway: {reason}")
            assert_one_line(run([*CLI, "migrate"], env), f"gatewise migrate: {reason}")
            doctor = run([*CLI, "doctor"], env)
            assert doctor.returncode == 1 and "Traceback" not in doctor.stderr, doctor.stderr
            assert f"[!!] storage PostgreSQL {shown}: {reason}\n" in doctor.stdout
            assert "[ok] route simple_query" in doctor.stdout
            assert "ro-secret-pw" not in doctor.stdout + doctor.stderr
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[-1]}" WITH (FORCE)')
                admin.execute(f'DROP ROLE "{role}"')


@pytest.mark.parametrize(("url", "reason"), [
    ("postgresql://postgres:pw-secret@127.0.0.1:notaport/x", "its port must be a number from 1 to 65535"),
    ("postgresql://postgres:pw-secret@127.0.0.1:99999/x", "its port must be a number from 1 to 65535"),
    ("postgresql://u:pw-secret@[bad/x",
     "its host is not a valid name or address (an IPv6 address goes in [ ])"),
])
def test_a_storage_url_that_cannot_be_read_is_a_config_error(tmp_path: Path, url: str, reason: str) -> None:
    env = {"GATEWISE_DATA_DIR": str(tmp_path), "GATEWISE_DATABASE_URL": url}
    line = f"gatewise: invalid configuration at storage.url: {reason}"
    for cmd in (SERVER, [*CLI, "doctor"], [*CLI, "migrate"], [*CLI, "serve", "--port", "0"]):
        assert_one_line(run(cmd, env), line)


@pytest.mark.parametrize(("config", "var", "line"), [
    ({"search": None}, "GATEWISE_SEARCH_MODEL", "invalid configuration at search: the config file makes it "
     "null, not an object, and GATEWISE_SEARCH_MODEL sets search.default_model inside it"),
    ({"server": "x"}, "GATEWISE_ALLOWED_HOSTS", "invalid configuration at server: the config file makes it a "
     "string, not an object, and GATEWISE_ALLOWED_HOSTS sets server.allowed_hosts inside it"),
    ({"server": {"auth": [1]}}, "GATEWISE_AUTH_TOKENS", "invalid configuration at server.auth: the config "
     "file makes it a list, not an object, and GATEWISE_AUTH_TOKENS sets server.auth.env_tokens inside it"),
])
def test_an_env_var_into_a_block_that_is_not_an_object(tmp_path: Path, config: dict[str, object], var: str,
                                                       line: str) -> None:
    path = tmp_path / "gatewise.json"
    path.write_text(json.dumps(config))
    env = {"GATEWISE_CONFIG": str(path), var: "value", "GATEWISE_DATA_DIR": str(tmp_path)}
    assert_one_line(run([*CLI, "doctor"], env), f"gatewise: {line}")
    with pytest.raises(GatewiseError) as caught:
        load_settings({"GATEWISE_CONFIG": str(path), var: "value"})
    assert caught.value.message == line


@pytest.mark.parametrize(("name", "text"), [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000),
    ("objects.json", '{"a":' * 950 + "1" + "}" * 950),  # parsed, then too deep to walk
])
def test_a_config_file_nested_too_deeply(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    proc = run([*CLI, "doctor"], {"GATEWISE_CONFIG": str(path), "GATEWISE_DATA_DIR": str(tmp_path)})
    assert_one_line(proc, f"gatewise: config file {path} is not valid: it nests lists or objects too deeply")


@pytest.mark.parametrize("cmd", [[*CLI, "serve"], [*SERVER, "--transport", "http"]], ids=["serve", "server"])
def test_a_port_outside_the_range_is_refused_by_the_parser(tmp_path: Path, cmd: list[str]) -> None:
    for port, why in (("70000", "70000 is outside 0-65535"), ("-1", "-1 is outside 0-65535"),
                      ("http", "'http' is not a port number")):
        proc = run([*cmd, "--port", port], {"GATEWISE_DATA_DIR": str(tmp_path)})
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.splitlines()[-1].endswith(f"error: argument --port: {why}")


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_a_server_on_a_port_in_use_says_so_in_one_line(tmp_path: Path, transport: str, sandbox) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run([*SERVER, "--transport", transport, "--port", str(port)],
                   {"GATEWISE_DATA_DIR": str(tmp_path), "GATEWISE_SANDBOX_URL": sandbox.url})
    assert_one_line(proc, f"gatewise-routing-gateway: cannot bind 127.0.0.1:{port}: Address already in use")


def test_settings_keep_a_valid_storage_url() -> None:
    url = "postgresql://u:p@[::1]:5433/db?sslmode=require"
    settings = Settings(storage={"url": url})
    assert settings.storage.url is not None and settings.storage.url.get_secret_value() == url
