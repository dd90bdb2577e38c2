"""Which process owns a budget hold, and whether that process is still running.

Every open BudgetManager is one row of ``budget_owners`` and stamps its id on the holds it
writes. A pid alone cannot say whether the owner still runs: after a crash the kernel hands the
pid to some other process sooner or later. The pid together with the boot and the process's
start time can, since no two processes of one boot share both. A process on another host (a
shared database file) cannot be looked up at all, so every owner also renews a lease; an owner
elsewhere whose lease has run out counts as gone.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class Owner:
    id: str
    host: str
    pid: int
    # "<boot id>:<start time>"; None where /proc is missing, and then only the lease tells.
    started: str | None


def this_process() -> Owner:
    """A fresh owner identity for a BudgetManager opening in this process."""
    pid = os.getpid()
    return Owner(uuid.uuid4().hex, host_name(), pid, process_start(pid))


def host_name() -> str:
    """This machine, and the pid namespace on it: a pid from another container means nothing here."""
    try:
        return f"{socket.gethostname()}/{os.readlink(_PROC / 'self/ns/pid')}"
    except OSError:
        return socket.gethostname()


def process_start(pid: int) -> str | None:
    """When the process ``pid`` started (``<boot id>:<clock ticks since boot>``), or None when
    no such process runs. A zombie (killed, not yet reaped by its parent) does not run."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
        boot = (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    # The fields after the command name, which is in parentheses and may hold spaces or ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return f"{boot}:{fields[19]}"  # field 22 of proc(5): starttime


def is_gone(owner: Owner, heartbeat_at: float, *, here: str, now: float, lease_s: float) -> bool:
    """True when ``owner`` no longer runs: on this host, its pid is free or taken by another
    process; elsewhere (or without /proc), its lease was last renewed over ``lease_s`` ago."""
    if owner.host == here and owner.started is not None:
        return process_start(owner.pid) != owner.started
    return heartbeat_at < now - lease_s
