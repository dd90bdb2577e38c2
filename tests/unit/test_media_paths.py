"""The local-file sandbox: containment, symlinks (also while they change), regular files only, caps."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gatewise.errors import ErrorCode, GatewiseError
from gatewise.media.paths import read_allowed

SECRET = b"top secret contents"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.png").write_bytes(b"inside")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    return folder


def _read(path: str | Path, roots: list[Path], max_bytes: int = 100) -> bytes:
    return read_allowed(path, roots, max_bytes)


def _refusal(path: str | Path, roots: list[Path], max_bytes: int = 100) -> GatewiseError:
    with pytest.raises(GatewiseError) as info:
        _read(path, roots, max_bytes)
    assert SECRET.decode() not in str(info.value)
    return info.value


def test_inside_root(root: Path) -> None:
    assert _read(root / "sub" / "a.png", [root]) == b"inside"


def test_relative_path_is_under_first_root(root: Path) -> None:
    assert _read("sub/a.png", [root]) == b"inside"


def test_home_is_expanded(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(root))
    assert _read("~/sub/a.png", [Path("~")]) == b"inside"


def test_traversal_refused(root: Path) -> None:
    assert _refusal(root / "sub" / ".." / ".." / "secret.txt", [root]).code is ErrorCode.UNSAFE_PATH


def test_missing_outside_is_refused_like_existing_outside(root: Path) -> None:
    assert _refusal(root / ".." / "nope.txt", [root]).code is ErrorCode.UNSAFE_PATH


def test_missing_inside_is_not_found(root: Path) -> None:
    assert _refusal(root / "nope.png", [root]).code is ErrorCode.NOT_FOUND
    assert _refusal(root / "sub" / "a.png" / "x", [root]).code is ErrorCode.NOT_FOUND


def test_symlink_pointing_outside_refused(root: Path) -> None:
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    assert _refusal(root / "link.txt", [root]).code is ErrorCode.UNSAFE_PATH


def test_symlinked_directory_pointing_outside_refused(root: Path) -> None:
    (root / "escape").symlink_to(root.parent)
    assert _refusal(root / "escape" / "secret.txt", [root]).code is ErrorCode.UNSAFE_PATH


def test_symlinks_inside_are_followed(root: Path) -> None:
    (root / "alias.png").symlink_to(root / "sub" / "a.png")
    (root / "folder").symlink_to("sub")
    assert _read(root / "alias.png", [root]) == b"inside"
    assert _read(root / "folder" / "a.png", [root]) == b"inside"


def test_symlink_loop_is_refused_and_says_so(root: Path) -> None:
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("loop1")
    for path in (root / "loop1", root / "loop1" / "a.png"):
        err = _refusal(path, [root])
        assert err.code is ErrorCode.UNSAFE_PATH
        assert "symbolic link" in err.message


def test_second_root_allowed(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.png").write_bytes(b"x")
    assert _read(other / "b.png", [root, other]) == b"x"


def test_no_roots_names_the_setting(root: Path) -> None:
    err = _refusal(root / "sub" / "a.png", [])
    assert err.code is ErrorCode.UNSAFE_PATH
    assert "media.allowed_roots" in str(err)


def test_directories_are_refused(root: Path) -> None:
    assert _refusal(root / "sub", [root]).code is ErrorCode.UNSAFE_PATH
    assert _refusal(root, [root]).code is ErrorCode.UNSAFE_PATH


def test_fifo_refused_without_blocking(root: Path) -> None:
    os.mkfifo(root / "pipe")
    assert _refusal(root / "pipe", [root]).code is ErrorCode.UNSAFE_PATH


def test_size_cap(root: Path) -> None:
    path = root / "sub" / "a.png"
    assert _read(path, [root], 6) == b"inside"
    err = _refusal(path, [root], 5)
    assert err.code is ErrorCode.TOO_LARGE
    assert "media.max_input_bytes" in err.message


@pytest.mark.parametrize("path", ["sub/a\0.png", "\0", "sub/\ud800.png", "\udfff"])
def test_nul_bytes_and_lone_surrogates_are_unsafe(root: Path, path: str) -> None:
    assert _refusal(path, [root]).code is ErrorCode.UNSAFE_PATH


def test_over_long_names_are_not_found(root: Path) -> None:
    assert _refusal(root / ("x" * 300), [root]).code is ErrorCode.NOT_FOUND
    assert _refusal(root.joinpath(*["deep"] * 2000, "a.png"), [root]).code is ErrorCode.NOT_FOUND


def test_permission_denied_is_not_found(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, which no file mode stops: force the error the kernel would give.
    real_open = os.open

    def denied(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if path == "a.png":
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    err = _refusal(root / "sub" / "a.png", [root])
    assert err.code is ErrorCode.NOT_FOUND and "Permission" not in err.message


def test_links_swapped_during_reads_never_escape(root: Path) -> None:
    """A writer inside the root keeps swapping a folder for a link to an outside folder, and the
    file in it for a link to an outside file, while the same path is read 5,000 times."""
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "photo.png").write_bytes(SECRET)
    folder, parked, link = root / "d", root / "d.parked", root / "d.link"
    folder.mkdir()
    (folder / "photo.png").write_bytes(b"benign")
    link.symlink_to(outside)
    (root / "file.link").symlink_to(outside / "photo.png")
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(folder, parked)  # the folder becomes a link to the outside folder...
            os.rename(link, folder)
            os.rename(folder, link)  # ...and back
            os.rename(parked, folder)
            os.rename(folder / "photo.png", root / "file.real")  # the file becomes a link...
            os.rename(root / "file.link", folder / "photo.png")
            os.rename(folder / "photo.png", root / "file.link")  # ...and back
            os.rename(root / "file.real", folder / "photo.png")

    writer = threading.Thread(target=swap)
    writer.start()
    outcomes: dict[str, int] = {"benign": 0, "escaped": 0, "refused": 0}
    try:
        for _ in range(5000):
            try:
                data = _read(folder / "photo.png", [root])
            except GatewiseError as exc:
                assert exc.code in (ErrorCode.UNSAFE_PATH, ErrorCode.NOT_FOUND)
                outcomes["refused"] += 1
                continue
            outcomes["escaped" if data == SECRET else "benign"] += 1
    finally:
        stop.set()
        writer.join()
    assert outcomes["escaped"] == 0, outcomes
    assert outcomes["benign"] > 0, outcomes  # reads between the swaps still work
