"""``gatewise install``: the servers' entries in an MCP client's own config file.

Each client reads a different file, under a different top-level key, and expands environment
variables with its own syntax (or not at all). Entries name the console scripts by absolute path,
so they work whatever PATH the client starts them with, and API keys only ever appear as the
client's placeholder for the variable: never as a value.

With ``--write`` the entries are merged into the existing file: it must be a regular file (not a
symbolic link) of at most ``MAX_CONFIG_BYTES`` holding a JSON object; anything else is refused and
the file left as it was. An entry of gatewise's already there keeps what gatewise does not set
(the env variables and args a user added); each value gatewise replaces is named. The old file is
copied to a timestamped backup first, and the new one replaces it in one rename, so a crash leaves
either the old file or the new one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewise.errors import quoted
from gatewise.redact import mask

SERVERS = ("routing-gateway", "portkey-admin", "openrouter-multimodal", "openrouter-search")
# The variables each server reads a key or a config path from.
SERVER_ENV = {
    "routing-gateway": ("OPENROUTER_API_KEY", "PORTKEY_API_KEY", "GATEWISE_CONFIG"),
    "portkey-admin": ("PORTKEY_API_KEY", "GATEWISE_CONFIG"),
    "openrouter-multimodal": ("OPENROUTER_API_KEY", "GATEWISE_ALLOWED_ROOTS", "GATEWISE_CONFIG"),
    "openrouter-search": ("OPENROUTER_API_KEY", "GATEWISE_CONFIG"),
}
SECRETS = frozenset({"OPENROUTER_API_KEY", "PORTKEY_API_KEY"})
MAX_CONFIG_BYTES = 1024 * 1024  # far above any hand-kept client config


class InstallError(Exception):
    """A config file that cannot be merged safely; the message says why and what to do."""


@dataclass(frozen=True)
class Client:
    name: str
    key: str  # the object that maps server names to entries
    path: Callable[[], Path]  # where the client reads its config
    placeholder: Callable[[str], str] | None  # ``VAR`` → the client's reference to it; None: no expansion
    needs_type: bool = False  # entries carry "type": "stdio"
    inputs: bool = False  # secrets are asked for once and kept in the client's secret store


def _claude_desktop_path() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "Claude" / "claude_desktop_config.json"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "Claude" / \
        "claude_desktop_config.json"


def _env_reference(var: str) -> str:
    """Cursor, VS Code and Windsurf: ``${env:VAR}``."""
    return f"${{env:{var}}}"


CLIENTS = {c.name: c for c in (
    Client("claude-desktop", "mcpServers", _claude_desktop_path, None),
    # Project scope: .mcp.json at the project root; "${VAR:-}" is empty when VAR is unset.
    Client("claude-code", "mcpServers", lambda: Path.cwd() / ".mcp.json",
           lambda var: f"${{{var}:-}}", needs_type=True),
    Client("cursor", "mcpServers", lambda: Path.home() / ".cursor" / "mcp.json", _env_reference),
    Client("vscode", "servers", lambda: Path.cwd() / ".vscode" / "mcp.json",
           _env_reference, needs_type=True, inputs=True),
    Client("windsurf", "mcpServers", lambda: Path.home() / ".codeium" / "windsurf" / "mcp_config.json",
           _env_reference),
)}


def script_path(server: str) -> Path:
    """The console script installed beside the running interpreter (the same installation)."""
    name = f"gatewise-{server}" + (".exe" if sys.platform == "win32" else "")
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.exists():
        raise InstallError(f"{path} does not exist: install gatewise first (see README, Install)")
    return path


def _input_id(var: str) -> str:
    return var.lower().replace("_", "-")


def entries(client: Client, servers: list[str]) -> dict[str, Any]:
    """The part of the client's config file that gatewise owns: server entries (and VS Code's
    inputs for the keys)."""
    block: dict[str, Any] = {}
    secrets: set[str] = set()
    for server in servers:
        entry: dict[str, Any] = {"type": "stdio"} if client.needs_type else {}
        entry |= {"command": str(script_path(server)), "args": []}
        env = {}
        if client.placeholder is not None:
            for var in SERVER_ENV[server]:
                if client.inputs and var in SECRETS:
                    env[var] = f"${{input:{_input_id(var)}}}"
                    secrets.add(var)
                else:
                    env[var] = client.placeholder(var)
        entry["env"] = env
        block[f"gatewise-{server}"] = entry
    document: dict[str, Any] = {client.key: block}
    if secrets:
        document["inputs"] = [{"type": "promptString", "id": _input_id(var), "password": True,
                               "description": f"{var} (leave empty to use the local sandbox)"}
                              for var in sorted(secrets)]
    return document


@dataclass(frozen=True)
class Existing:
    data: dict[str, Any]
    raw: bytes  # as read: what the backup keeps
    info: os.stat_result  # to notice a change made while merging


def read_existing(path: Path) -> Existing | None:
    """The file as it is, None when there is no file; InstallError for anything unsafe."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InstallError(f"cannot inspect {path}: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise InstallError(f"{path} is a symbolic link: gatewise does not write through links; "
                           "pass --path with the file it points to, or merge the printed entries by hand")
    if not stat.S_ISREG(info.st_mode):
        raise InstallError(f"{path} is not a regular file")
    if info.st_size > MAX_CONFIG_BYTES:
        raise InstallError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB: not a client "
                           "config gatewise will rewrite; merge the printed entries by hand")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InstallError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:  # grew since lstat
        raise InstallError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InstallError(f"{path} is not valid JSON{where}: fix or move it, then run again; "
                           "it was left unchanged") from None
    if not isinstance(data, dict):
        raise InstallError(f"{path} does not hold a JSON object; it was left unchanged")
    return Existing(data, raw, info)


def merge(existing: dict[str, Any], ours: dict[str, Any], client: Client, path: Path
          ) -> tuple[dict[str, Any], list[str]]:
    """``existing`` with gatewise's entries merged in, everything else kept as it was; and what
    happened to each entry, a line each."""
    merged = dict(existing)
    servers = merged.get(client.key, {})
    if not isinstance(servers, dict):
        raise InstallError(f'{path}: "{client.key}" is not an object; it was left unchanged')
    block = dict(servers)
    changes = []
    for name, entry in ours[client.key].items():
        block[name], change = _merge_entry(block.get(name), entry)
        changes.append(f"{name}: {change}")
    merged[client.key] = block
    if "inputs" in ours:
        inputs = merged.get("inputs", [])
        if not isinstance(inputs, list):
            raise InstallError(f'{path}: "inputs" is not a list; it was left unchanged')
        ids = {i["id"] for i in ours["inputs"]}
        kept = [i for i in inputs if not (isinstance(i, dict) and i.get("id") in ids)]
        merged["inputs"] = kept + ours["inputs"]
    return merged, changes


# How clients write a reference to their own environment or an input: "${env:X}", "${X}", "${input:x}".
_REFERENCE = re.compile(r"\$\{[^{}]{1,200}\}")


def _merge_entry(old: Any, new: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """An entry already in the file keeps what gatewise does not set: its own env variables, its
    args, any other field (``disabled``, ``cwd``...), and a value of its own (not a key) written
    where gatewise writes a reference to the client's environment. gatewise's values win for what it sets
    (``type``, ``command``, its env references), and each value they replace is named (a key's
    masked)."""
    if old is None:
        return new, "added"
    if not isinstance(old, dict):
        return new, "replaced (it was not a JSON object)"
    entry = {**old, **new}
    replaced = [f"{field} {_shown(field, old[field])} with {quoted(value, end=True)}"
                for field, value in new.items() if field in ("type", "command")
                and field in old and old[field] != value]
    kept: list[str] = []
    env = old.get("env", {})
    if isinstance(env, dict):
        # gatewise writes only references to the client's environment: a value the user wrote in
        # place of one (a config path) is theirs and stays, but a key written out is replaced by
        # its reference, as keys belong in the environment or a config file, not here.
        theirs = {var for var in env if var not in new["env"]
                  or (var not in SECRETS and not _REFERENCE.fullmatch(str(env[var])))}
        entry["env"] = {**env, **{var: value for var, value in new["env"].items() if var not in theirs}}
        replaced += [f"env {var} {_shown(var, env[var])} with {quoted(value, end=True)}"
                     for var, value in new["env"].items()
                     if var in env and var not in theirs and env[var] != value]
        kept += [f"env {var}" for var in env if var in theirs]
    else:
        replaced.append("env (it was not a JSON object)")
    args = old.get("args", [])
    if isinstance(args, list):
        entry["args"] = args  # gatewise passes none: the entry's own are kept
        kept += ["args"] if args else []
    else:
        replaced.append("args (it was not a list)")
    said = [f"replaced {', '.join(replaced)}"] if replaced else []
    said += [f"kept your {', '.join(kept)}"] if kept else []
    return entry, "; ".join(said) or "unchanged"


def _shown(name: str, value: object) -> str:
    """A replaced value as the summary shows it: a key masked (gatewise's own values are only ever
    references), anything else quoted."""
    return mask(str(value)) if name in SECRETS else quoted(value, end=True)


def _backup(path: Path, old: Existing) -> Path:
    """A copy of the old bytes beside the file, with its mode; never over an existing file."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(100):
        backup = path.with_name(f"{path.name}.{stamp}{f'-{n}' if n else ''}.bak")
        try:  # O_EXCL: a name already taken (or a planted link) is never written through
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(old.raw)
        os.chmod(backup, stat.S_IMODE(old.info.st_mode))
        return backup
    raise InstallError(f"too many backups of {path} this second; run again")


def write_atomically(path: Path, document: dict[str, Any], old: Existing | None) -> Path | None:
    """Back up the old file, then replace it in one rename; the backup's path (None if new).
    Whatever the system refuses (a folder this user may not write, a full disk) is an
    InstallError naming it; the file is then as it was."""
    try:
        return _replace(path, document, old)
    except OSError as exc:
        where = f" (creating {exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        kept = "; it was left unchanged" if old is not None else ""
        raise InstallError(f"cannot write {path}: {exc.strerror or exc}{where}{kept}") from None


def _replace(path: Path, document: dict[str, Any], old: Existing | None) -> Path | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = _backup(path, old) if old is not None else None
    mode = stat.S_IMODE(old.info.st_mode) if old is not None else 0o600
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        if _signature(path) != (old and (old.info.st_mtime_ns, old.info.st_size)):
            raise InstallError(f"{path} changed while gatewise was merging; run again")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return backup


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client", required=True, choices=sorted(CLIENTS))
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help=f"comma-separated, from: {', '.join(SERVERS)} (default: all)")
    parser.add_argument("--write", action="store_true",
                        help="merge into the client's config file (with a backup) instead of printing")
    parser.add_argument("--path", type=Path, help="the config file to use instead of the client's own")


def run_install(args: argparse.Namespace) -> int:
    """Print the entries (stdout) or merge them into the file; notes and errors on stderr."""
    client = CLIENTS[args.client]
    servers = list(dict.fromkeys(s.strip() for s in args.servers.split(",") if s.strip()))
    unknown = sorted(set(servers) - set(SERVERS))
    if unknown or not servers:
        print(f"gatewise install: unknown server(s) {', '.join(unknown) or '(none given)'}; "
              f"choose from {', '.join(SERVERS)}", file=sys.stderr)
        return 2
    path = args.path or client.path()
    try:
        ours = entries(client, servers)
        if not args.write:
            print(json.dumps(ours, indent=2))
            print(f"gatewise install: add this to {path}, or run again with --write to merge it there",
                  file=sys.stderr)
        else:
            old = read_existing(path)
            document, changes = merge(old.data if old else {}, ours, client, path)
            if old is not None and document == old.data:  # a re-run: no rewrite, no new backup
                print(f"gatewise install: {path} already holds these entries; it was left unchanged",
                      file=sys.stderr)
            else:
                backup = write_atomically(path, document, old)
                saved = f" (previous file saved as {backup})" if backup else ""
                print(f"gatewise install: wrote {len(servers)} server(s) to {path}{saved}", file=sys.stderr)
            for change in changes:
                print(f"gatewise install: {change}", file=sys.stderr)
    except InstallError as exc:
        print(f"gatewise install: {exc}", file=sys.stderr)
        return 2
    if client.placeholder is None:
        print(f"gatewise install: {client.name} does not expand environment variables, so no key is "
              "written; without one the servers answer from the local sandbox. Put the keys in a "
              "config file and add its absolute path as GATEWISE_CONFIG under each entry's env "
              "(installing again keeps it).", file=sys.stderr)
    return 0
