"""One audit key for every instance on a database.

The ledger's request hashes and the guardrail audit's value hashes are HMACs under the key in
``Settings.audit_key_path``. Instances that share a database compare each other's hashes (an
exact repeat paid for on one instance and served on another, equal values in the audit trail),
so they must hash with one key. The key itself never goes into the database (whoever can read
the database could then test guesses of the hashed texts against it): only its fingerprint. The
first instance records it; an instance with another key is refused at start-up.
"""

from __future__ import annotations

from pathlib import Path

from gatewise.errors import ErrorCode, GatewiseError
from gatewise.guardrails.audit import installation_key, key_fingerprint
from gatewise.storage.postgres.database import Database

_SETTING = "audit_key_fingerprint"


async def check_audit_key(db: Database, path: Path) -> None:
    """Record the key's fingerprint if none is, else raise CONFIG_ERROR unless it is this key's."""
    try:
        mine = key_fingerprint(installation_key(path))
    except (OSError, ValueError) as exc:
        raise GatewiseError(ErrorCode.CONFIG_ERROR, f"cannot read the audit key {path}: {exc}") from None
    async with db.connection() as conn:
        await conn.execute("INSERT INTO cluster_settings (name, value) VALUES (%s, %s)"
                           " ON CONFLICT (name) DO NOTHING", [_SETTING, mine])
        cursor = await conn.execute("SELECT value FROM cluster_settings WHERE name = %s", [_SETTING])
        row = await cursor.fetchone()
    if row is None or row[0] != mine:
        raise GatewiseError(ErrorCode.CONFIG_ERROR, (
            f"the audit key {path} is not the one the other instances on {db.label} use: copy their "
            "key file here (or point storage.audit_key_file, GATEWISE_AUDIT_KEY_FILE, at it)"))
