"""`gatewise install`: each client's file, format and placeholders; merging that keeps what was
there, backs it up and refuses any file it cannot merge safely."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gatewise import client_config
from gatewise.cli import main

SECRET = "sk-or-v1-0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home and a project folder of the test's own; a key in the environment that must never
    be written out."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("OPENROUTER_API_KEY", SECRET)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    return tmp_path / "home"


def install(*args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(["install", *args])
    return int(done.value.code or 0)


def printed(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert install(*args) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    return dict(json.loads(out))


@pytest.mark.parametrize(("client", "key", "reference"), [
    ("claude-code", "mcpServers", "${OPENROUTER_API_KEY:-}"),
    ("cursor", "mcpServers", "${env:OPENROUTER_API_KEY}"),
    ("windsurf", "mcpServers", "${env:OPENROUTER_API_KEY}"),
    ("vscode", "servers", "${input:openrouter-api-key}"),
])
def test_each_client_gets_its_own_key_and_placeholder(capsys: pytest.CaptureFixture[str], client: str,
                                                      key: str, reference: str) -> None:
    document = printed(capsys, "--client", client)
    entries = document[key]
    assert sorted(entries) == sorted(f"gatewise-{s}" for s in client_config.SERVERS)
    for entry in entries.values():
        command = Path(entry["command"])
        assert command.is_absolute() and command.exists()
    assert entries["gatewise-routing-gateway"]["env"]["OPENROUTER_API_KEY"] == reference
    assert ("type" in entries["gatewise-openrouter-search"]) == (client in {"claude-code", "vscode"})
    if client == "vscode":  # the keys are asked for once and kept in VS Code's secret store
        assert {i["id"] for i in document["inputs"]} == {"openrouter-api-key", "portkey-api-key"}
        assert all(i["password"] for i in document["inputs"])


def test_claude_desktop_gets_no_key_and_is_told_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert install("--client", "claude-desktop", "--servers", "openrouter-search") == 0
    captured = capsys.readouterr()
    entry = json.loads(captured.out)["mcpServers"]["gatewise-openrouter-search"]
    assert entry["env"] == {}
    assert "does not expand environment variables" in captured.err


def test_unknown_server_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert install("--client", "cursor", "--servers", "routing-gateway,nope") == 2
    assert "nope" in capsys.readouterr().err


def test_write_merges_keeps_the_rest_and_backs_up(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = home / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    theirs = {"mcpServers": {"other": {"command": "other-server", "env": {"TOKEN": "theirs"}},
                             "gatewise-openrouter-search": {"command": "stale"}},
              "someSetting": True}
    old = json.dumps(theirs).encode()
    path.write_bytes(old)
    path.chmod(0o640)
    assert install("--client", "cursor", "--servers", "openrouter-search", "--write") == 0
    written = json.loads(path.read_text())
    assert written["someSetting"] is True
    assert written["mcpServers"]["other"] == theirs["mcpServers"]["other"]
    ours = written["mcpServers"]["gatewise-openrouter-search"]
    assert ours["command"].endswith("gatewise-openrouter-search")
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)
    backups = list(path.parent.glob("mcp.json.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == old
    assert not list(path.parent.glob(".mcp.json.*"))  # no temporary file left behind
    # Run again: the same entries, not added twice; nothing changed, so no second backup.
    assert install("--client", "cursor", "--servers", "openrouter-search", "--write") == 0
    assert json.loads(path.read_text()) == written
    assert len(list(path.parent.glob("mcp.json.*.bak"))) == 1
    assert SECRET not in path.read_text()


def test_write_creates_a_private_file_and_merges_vscode_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path.cwd() / ".vscode" / "mcp.json"
    assert install("--client", "vscode", "--servers", "portkey-admin", "--write") == 0
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert not list(path.parent.glob("*.bak"))
    assert install("--client", "vscode", "--write") == 0
    inputs = json.loads(path.read_text())["inputs"]
    assert sorted(i["id"] for i in inputs) == ["openrouter-api-key", "portkey-api-key"]


def hostile_files(tmp_path: Path) -> dict[str, Path]:
    made = {}
    target = tmp_path / "real.json"
    target.write_text("{}")
    made["symbolic link"] = tmp_path / "link.json"
    made["symbolic link"].symlink_to(target)
    made["not valid JSON"] = tmp_path / "broken.json"
    made["not valid JSON"].write_text('{"mcpServers": {')
    made["larger than"] = tmp_path / "huge.json"
    made["larger than"].write_text('{"x": "' + "a" * client_config.MAX_CONFIG_BYTES + '"}')
    made["not valid JSON "] = tmp_path / "deep.json"  # nesting deeper than the parser recurses
    made["not valid JSON "].write_text("[" * 200_000)
    made["does not hold a JSON object"] = tmp_path / "list.json"
    made["does not hold a JSON object"].write_text("[1, 2]")
    made['"mcpServers" is not an object'] = tmp_path / "wrong.json"
    made['"mcpServers" is not an object'].write_text('{"mcpServers": []}')
    made["not a regular file"] = tmp_path / "folder.json"
    made["not a regular file"].mkdir()
    return made


def test_hostile_existing_files_are_refused_and_left_unchanged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for reason, path in hostile_files(tmp_path).items():
        before = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        assert install("--client", "cursor", "--write", "--path", str(path)) == 2, reason
        err = capsys.readouterr().err
        assert reason.strip() in err and len(err.splitlines()) == 1, err
        if before is not None:
            assert path.read_bytes() == before
    assert (tmp_path / "real.json").read_text() == "{}"  # nothing written through the link
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".bak") or p.name.startswith(".")]
    assert leftovers == []


def test_a_file_changed_while_merging_is_not_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mcp.json"
    path.write_text("{}")
    real_backup = client_config._backup

    def backup_then_edit(target: Path, old: client_config.Existing) -> Path:
        made = real_backup(target, old)
        target.write_text('{"edited": "meanwhile"}')  # another program saves the file now
        os.utime(target, ns=(1, 1))
        return made

    monkeypatch.setattr(client_config, "_backup", backup_then_edit)
    assert install("--client", "cursor", "--write", "--path", str(path)) == 2
    assert "changed while" in capsys.readouterr().err
    assert json.loads(path.read_text()) == {"edited": "meanwhile"}


def test_installing_again_keeps_what_the_user_added_to_gatewise_entries(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README tells Claude Desktop users to add GATEWISE_CONFIG to each entry's env: a second
    install keeps it, and the user's args and other fields."""
    path = home / ".config" / "Claude" / "claude_desktop_config.json"
    assert install("--client", "claude-desktop", "--write") == 0
    assert capsys.readouterr().err.count(": added") == len(client_config.SERVERS)
    document = json.loads(path.read_text())
    for entry in document["mcpServers"].values():
        entry["env"]["GATEWISE_CONFIG"] = "/home/me/gatewise-keys.toml"
    own = {"args": ["--transport", "stdio"], "disabled": False}
    document["mcpServers"]["gatewise-routing-gateway"] |= own
    path.write_text(json.dumps(document))
    assert install("--client", "claude-desktop", "--write") == 0
    assert json.loads(path.read_text()) == document
    err = capsys.readouterr().err
    assert "gatewise-routing-gateway: kept your env GATEWISE_CONFIG, args" in err
    assert "gatewise-openrouter-search: kept your env GATEWISE_CONFIG" in err


def test_installing_again_replaces_only_what_gatewise_sets_and_names_each_value(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = home / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    theirs = {"command": "/old/venv/bin/gatewise-routing-gateway", "args": ["--transport", "stdio"],
              "env": {"OPENROUTER_API_KEY": SECRET, "GATEWISE_CONFIG": "/home/me/keys.toml", "TEAM": "ml"}}
    path.write_text(json.dumps({"mcpServers": {"gatewise-routing-gateway": theirs}}))
    assert install("--client", "cursor", "--servers", "routing-gateway", "--write") == 0
    entry = json.loads(path.read_text())["mcpServers"]["gatewise-routing-gateway"]
    assert entry["command"] == str(client_config.script_path("routing-gateway"))
    assert entry["args"] == ["--transport", "stdio"]
    # a key written out gives way to its reference; the user's own config path stays
    assert entry["env"] == {"OPENROUTER_API_KEY": "${env:OPENROUTER_API_KEY}",
                            "PORTKEY_API_KEY": "${env:PORTKEY_API_KEY}",
                            "GATEWISE_CONFIG": "/home/me/keys.toml", "TEAM": "ml"}
    err = capsys.readouterr().err
    assert "command '/old/venv/bin/gatewise-routing-gateway' with '/" in err
    assert "env OPENROUTER_API_KEY sk-…cdef with '${env:OPENROUTER_API_KEY}'" in err  # the key masked
    assert "kept your env GATEWISE_CONFIG, env TEAM, args" in err
    assert SECRET not in err and SECRET not in path.read_text()
    # run again: nothing to change, so the file is not rewritten and no backup is added
    before, backups = path.read_bytes(), sorted(path.parent.glob("*.bak"))
    assert install("--client", "cursor", "--servers", "routing-gateway", "--write") == 0
    assert f"{path} already holds these entries; it was left unchanged" in capsys.readouterr().err
    assert path.read_bytes() == before and sorted(path.parent.glob("*.bak")) == backups


def test_a_folder_that_cannot_be_written_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Not even root may create a file in /proc: the system's refusal is one line, no traceback."""
    assert install("--client", "cursor", "--write", "--path", "/proc/gatewise-mcp.json") == 2
    err = capsys.readouterr().err
    assert err.startswith("gatewise install: cannot write /proc/gatewise-mcp.json: ")
    assert len(err.splitlines()) == 1, err


def test_a_failed_backup_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A folder this user may not write fails at the backup (forced here: root writes anywhere)."""
    path = tmp_path / "mcp.json"
    path.write_text('{"mcpServers": {}}')

    def refused(target: Path, old: client_config.Existing) -> Path:
        raise PermissionError(13, "Permission denied", f"{target}.bak")

    monkeypatch.setattr(client_config, "_backup", refused)
    assert install("--client", "cursor", "--write", "--path", str(path)) == 2
    err = capsys.readouterr().err
    assert err == (f"gatewise install: cannot write {path}: Permission denied (creating {path}.bak); "
                   "it was left unchanged\n")
    assert path.read_text() == '{"mcpServers": {}}'
