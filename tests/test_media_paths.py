"""The local-file sandbox: containment after symlink resolution, regular files only, size caps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatewise.errors import ErrorCode, GatewiseError
from gatewise.media.paths import read_capped, resolve_allowed


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.png").write_bytes(b"inside")
    (tmp_path / "secret.txt").write_bytes(b"top secret contents")
    return folder


def _refusal(path: str | Path, roots: list[Path]) -> GatewiseError:
    with pytest.raises(GatewiseError) as info:
        resolve_allowed(path, roots)
    return info.value


def test_inside_root(root: Path) -> None:
    assert resolve_allowed(root / "sub" / "a.png", [root]) == (root / "sub" / "a.png").resolve()


def test_relative_path_is_under_first_root(root: Path) -> None:
    assert resolve_allowed("sub/a.png", [root]) == (root / "sub" / "a.png").resolve()


def test_home_is_expanded(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(root))
    assert resolve_allowed("~/sub/a.png", [Path("~")]) == (root / "sub" / "a.png").resolve()


def test_traversal_refused_without_leaking_contents(root: Path) -> None:
    err = _refusal(root / "sub" / ".." / ".." / "secret.txt", [root])
    assert err.code is ErrorCode.UNSAFE_PATH
    assert "top secret" not in str(err)


def test_missing_outside_is_refused_like_existing_outside(root: Path) -> None:
    assert _refusal(root / ".." / "nope.txt", [root]).code is ErrorCode.UNSAFE_PATH


def test_missing_inside_is_not_found(root: Path) -> None:
    assert _refusal(root / "nope.png", [root]).code is ErrorCode.NOT_FOUND


def test_symlink_pointing_outside_refused(root: Path) -> None:
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    assert _refusal(root / "link.txt", [root]).code is ErrorCode.UNSAFE_PATH


def test_symlinked_directory_pointing_outside_refused(root: Path) -> None:
    (root / "escape").symlink_to(root.parent)
    assert _refusal(root / "escape" / "secret.txt", [root]).code is ErrorCode.UNSAFE_PATH


def test_symlink_inside_allowed(root: Path) -> None:
    (root / "alias.png").symlink_to(root / "sub" / "a.png")
    assert resolve_allowed(root / "alias.png", [root]) == (root / "sub" / "a.png").resolve()


def test_second_root_allowed(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.png").write_bytes(b"x")
    assert resolve_allowed(other / "b.png", [root, other]) == (other / "b.png").resolve()


def test_no_roots_names_the_setting(root: Path) -> None:
    err = _refusal(root / "sub" / "a.png", [])
    assert err.code is ErrorCode.UNSAFE_PATH
    assert "media.allowed_roots" in str(err)


def test_directory_refused(root: Path) -> None:
    assert _refusal(root / "sub", [root]).code is ErrorCode.UNSAFE_PATH


def test_fifo_refused(root: Path) -> None:
    os.mkfifo(root / "pipe")
    assert _refusal(root / "pipe", [root]).code is ErrorCode.UNSAFE_PATH
    with pytest.raises(GatewiseError) as info:
        read_capped(root / "pipe", 100)
    assert info.value.code is ErrorCode.UNSAFE_PATH


def test_read_capped(root: Path) -> None:
    path = root / "sub" / "a.png"
    assert read_capped(path, 6) == b"inside"
    with pytest.raises(GatewiseError) as info:
        read_capped(path, 5)
    assert info.value.code is ErrorCode.TOO_LARGE
    assert "media.max_input_bytes" in info.value.message


def test_read_capped_refuses_symlink(root: Path) -> None:
    (root / "link.png").symlink_to(root / "sub" / "a.png")
    with pytest.raises(GatewiseError) as info:
        read_capped(root / "link.png", 100)
    assert info.value.code is ErrorCode.UNSAFE_PATH
