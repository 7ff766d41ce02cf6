"""The ``parking`` command as a user runs it: a real process against a real database."""

from __future__ import annotations

import subprocess
import sys

import asyncpg

from tests.conftest import REPO_ROOT
from tests.helpers import parking


async def test_migrate_command_applies_then_reports_up_to_date(empty_db_dsn: str) -> None:
    first = parking("migrate", dsn=empty_db_dsn)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_base" in first.stdout
    second = parking("migrate", dsn=empty_db_dsn)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


async def test_create_admin_makes_an_admin(db_dsn: str, conn: asyncpg.Connection) -> None:
    done = parking(
        "create-admin", "--email", "Chief@Example.com", "--password", "long-enough-pw", dsn=db_dsn
    )
    assert done.returncode == 0, done.stderr
    row = await conn.fetchrow(
        "SELECT role, password_hash FROM users WHERE email = 'chief@example.com'"
    )
    assert row["role"] == "admin"
    assert "long-enough-pw" not in row["password_hash"]
    again = parking(
        "create-admin", "--email", "chief@example.com", "--password", "long-enough-pw", dsn=db_dsn
    )
    assert again.returncode != 0
    assert "already exists" in again.stderr


async def test_create_admin_refuses_a_short_password(db_dsn: str, conn: asyncpg.Connection) -> None:
    done = parking("create-admin", "--email", "a@example.com", "--password", "short", dsn=db_dsn)
    assert done.returncode != 0
    assert await conn.fetchval("SELECT count(*) FROM users") == 0


_COUNTS = """
SELECT (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM buildings) AS buildings,
       (SELECT count(*) FROM spaces) AS spaces,
       (SELECT count(*) FROM residence_whitelist) AS whitelist
"""


async def test_seed_demo_is_idempotent_and_tells_the_shuibei_story(
    db_dsn: str, conn: asyncpg.Connection
) -> None:
    first = parking("seed-demo", dsn=db_dsn)
    assert first.returncode == 0, first.stderr
    assert "manager@demo.parking" in first.stdout and "resident@demo.parking" in first.stdout
    counts = await conn.fetchrow(_COUNTS)
    second = parking("seed-demo", dsn=db_dsn)
    assert second.returncode == 0, second.stderr
    assert await conn.fetchrow(_COUNTS) == counts
    assert counts["buildings"] >= 3 and counts["spaces"] >= 100
    compounds = {r["name"] for r in await conn.fetch("SELECT name FROM compounds")}
    assert {"贝丽花园", "深华丽园"} <= compounds
    park = await conn.fetchval(
        "SELECT name FROM buildings WHERE district_place_id = 'b-wanshan-p2'"
    )
    assert "Wanshan" in park


def test_package_commands_are_part_of_the_parking_command(tmp_path) -> None:
    example = REPO_ROOT.parent / "shared" / "allocator" / "examples" / "weight-wins.json"
    out = tmp_path / "solution.json"
    done = subprocess.run(
        [sys.executable, "-m", "parking", "allocate-file", str(example), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert '"served_weight": 2' in out.read_text()
