"""A resident proves where they live by matching the office's whitelist."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.residents import service
from parking.residents.schemas import normalize_phone
from tests.helpers import (
    PASSWORD,
    assert_problem,
    auth_headers,
    login_headers,
    make_account,
)


@pytest.fixture
async def whitelist(conn: asyncpg.Connection) -> dict[str, int]:
    """Two compounds and three entries, as the office imported them; returns compound ids."""
    ids = {}
    for name, lat, lon in (("贝丽花园", 22.5655, 114.1287), ("深华丽园", 22.5668, 114.1321)):
        ids[name] = await conn.fetchval(
            "INSERT INTO compounds (name, lat, lon) VALUES ($1, $2, $3) RETURNING id",
            name,
            lat,
            lon,
        )
    await conn.executemany(
        "INSERT INTO residence_whitelist (compound_id, unit, phone) VALUES ($1, $2, $3)",
        [
            (ids["贝丽花园"], "3栋 502", "13800138001"),
            (ids["贝丽花园"], "3栋 1201", "13800138002"),
            (ids["深华丽园"], "A座 1502", "13900139001"),
        ],
    )
    return ids


async def _user_id(conn: asyncpg.Connection, headers: dict[str, str], client) -> int:
    return (await client.get("/auth/me", headers=headers)).json()["id"]


async def _stored_phone(client, conn: asyncpg.Connection, headers: dict[str, str]) -> str | None:
    """The phone stored on the account of ``headers``: set only by a verification."""
    user_id = await _user_id(conn, headers, client)
    return await conn.fetchval("SELECT phone FROM users WHERE id = $1", user_id)


async def test_matching_entry_verifies_and_stores_the_phone(
    client: AsyncTestClient, conn: asyncpg.Connection, whitelist: dict[str, int]
) -> None:
    resident = await auth_headers(client, conn, "resident")
    before = await client.get("/residents/me", headers=resident)
    assert before.status_code == 200
    assert before.json()["verified"] is False and before.json()["compound_id"] is None

    response = await client.post(
        "/residents/me/verification",
        json={"compound": "贝丽花园", "unit": "  3栋   502 ", "phone": "+86 138-0013-8001"},
        headers=resident,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["verified"] is True
    assert (body["compound_id"], body["compound_name"], body["unit"]) == (
        whitelist["贝丽花园"],
        "贝丽花园",
        "3栋 502",
    )
    assert (body["lat"], body["lon"]) == (22.5655, 114.1287)

    user_id = await _user_id(conn, resident, client)
    assert await conn.fetchval("SELECT phone FROM users WHERE id = $1", user_id) == "13800138001"
    assert await conn.fetchval("SELECT count(*) FROM residencies WHERE user_id = $1", user_id) == 1
    me = await client.get("/residents/me", headers=resident)
    assert me.json() == body
    # What other packages ask.
    assert await service.home_of(conn, user_id) == (22.5655, 114.1287)
    residency = await service.require_verified(conn, user_id)
    assert residency.compound_name == "贝丽花园" and residency.unit == "3栋 502"


async def test_full_width_and_spacing_in_the_unit_do_not_matter(
    client: AsyncTestClient, conn: asyncpg.Connection, whitelist: dict[str, int]
) -> None:
    resident = await auth_headers(client, conn, "resident")
    response = await client.post(
        "/residents/me/verification",
        json={
            "compound": " 深华丽园",
            "unit": "Ａ座\u3000１５０２",  # full-width letter and digits, ideographic space
            "phone": "１３９００１３９００１",
        },
        headers=resident,
    )
    assert response.status_code == 201, response.text
    assert response.json()["unit"] == "A座 1502"


async def test_verify_by_compound_id(
    client: AsyncTestClient, conn: asyncpg.Connection, whitelist: dict[str, int]
) -> None:
    resident = await auth_headers(client, conn, "resident")
    response = await client.post(
        "/residents/me/verification",
        json={"compound_id": whitelist["深华丽园"], "unit": "A座 1502", "phone": "13900139001"},
        headers=resident,
    )
    assert response.status_code == 201, response.text
    assert response.json()["compound_name"] == "深华丽园"


@pytest.mark.parametrize(
    "wrong",
    [
        {"compound": "深华丽园", "unit": "3栋 502", "phone": "13800138001"},  # compound
        {"compound": "无名小区", "unit": "3栋 502", "phone": "13800138001"},  # no such compound
        {"compound": "贝丽花园", "unit": "3栋 503", "phone": "13800138001"},  # unit
        {"compound": "贝丽花园", "unit": "3栋502", "phone": "13800138001"},  # not the same unit
        {"compound": "贝丽花园", "unit": "3栋 502", "phone": "13800138009"},  # phone
    ],
    ids=["compound", "unknown-compound", "unit", "unit-spacing", "phone"],
)
async def test_a_mismatch_is_one_answer_and_changes_nothing(
    client: AsyncTestClient, conn: asyncpg.Connection, whitelist: dict[str, int], wrong: dict
) -> None:
    resident = await auth_headers(client, conn, "resident")
    response = await client.post("/residents/me/verification", json=wrong, headers=resident)
    problem = assert_problem(response, 422, "residence-not-found")
    # The same words whatever was wrong: nothing to learn about the whitelist.
    assert "compound, unit and phone" in problem["detail"]
    assert await conn.fetchval("SELECT count(*) FROM residencies") == 0
    assert await _stored_phone(client, conn, resident) is None


async def test_an_entry_used_by_another_account_is_taken(
    client: AsyncTestClient, conn: asyncpg.Connection, whitelist: dict[str, int]
) -> None:
    body = {"compound": "贝丽花园", "unit": "3栋 502", "phone": "13800138001"}
    first = await auth_headers(client, conn, "resident")
    assert (
        await client.post("/residents/me/verification", json=body, headers=first)
    ).status_code == 201
    second = await auth_headers(client, conn, "resident")
    response = await client.post("/residents/me/verification", json=body, headers=second)
    assert_problem(response, 409, "residence-taken")
    assert await conn.fetchval("SELECT count(*) FROM residencies") == 1
    assert await _stored_phone(client, conn, second) is None


async def test_verifying_again(
    client: AsyncTestClient, conn: asyncpg.Connection, whitelist: dict[str, int]
) -> None:
    resident = await auth_headers(client, conn, "resident")
    body = {"compound": "贝丽花园", "unit": "3栋 502", "phone": "13800138001"}
    first = await client.post("/residents/me/verification", json=body, headers=resident)
    assert first.status_code == 201
    same = await client.post("/residents/me/verification", json=body, headers=resident)
    assert same.status_code == 200, same.text
    assert same.json() == first.json()
    other = {"compound": "贝丽花园", "unit": "3栋 1201", "phone": "13800138001"}
    assert_problem(
        await client.post("/residents/me/verification", json=other, headers=resident),
        409,
        "already-verified",
    )
    assert await conn.fetchval("SELECT count(*) FROM residencies") == 1


async def test_the_phone_must_be_the_accounts(
    client: AsyncTestClient, conn: asyncpg.Connection, whitelist: dict[str, int]
) -> None:
    registered = await client.post(
        "/auth/register",
        json={"email": "li@example.com", "password": PASSWORD, "phone": "13800138002"},
    )
    assert registered.status_code == 201
    headers = await login_headers(client, "li@example.com")
    # A real entry, but someone else's phone.
    someone_else = {"compound": "贝丽花园", "unit": "3栋 502", "phone": "13800138001"}
    response = await client.post("/residents/me/verification", json=someone_else, headers=headers)
    assert_problem(response, 422, "phone-mismatch")
    assert await conn.fetchval("SELECT count(*) FROM residencies") == 0
    own = {"compound": "贝丽花园", "unit": "3栋 1201", "phone": "138 0013 8002"}
    assert (
        await client.post("/residents/me/verification", json=own, headers=headers)
    ).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"unit": "3栋 502", "phone": "13800138001"},  # no compound
        {"compound_id": 1, "compound": "贝丽花园", "unit": "3栋 502", "phone": "13800138001"},
        {"compound": "贝丽花园", "unit": "  ", "phone": "13800138001"},
        {"compound": "贝丽花园", "unit": "3栋 502", "phone": "call me"},
        {"compound": "贝丽花园", "unit": "3栋 502", "phone": "13800138001", "role": "admin"},
    ],
    ids=["no-compound", "both-compounds", "blank-unit", "bad-phone", "extra-field"],
)
async def test_malformed_requests_are_validation_errors(
    client: AsyncTestClient, conn: asyncpg.Connection, whitelist: dict[str, int], body: dict
) -> None:
    resident = await auth_headers(client, conn, "resident")
    response = await client.post("/residents/me/verification", json=body, headers=resident)
    assert_problem(response, 422, "validation-error")
    assert await conn.fetchval("SELECT count(*) FROM residencies") == 0


async def test_unverified_resident_cannot_add_vehicles(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    resident = await auth_headers(client, conn, "resident")
    response = await client.post("/vehicles", json={"plate": "粤B12345"}, headers=resident)
    assert_problem(response, 403, "not-verified")
    assert_problem(await client.get("/vehicles", headers=resident), 403, "not-verified")
    assert await conn.fetchval("SELECT count(*) FROM vehicles") == 0
    user_id = await _user_id(conn, resident, client)
    assert await service.home_of(conn, user_id) is None


async def test_compounds_to_choose_from(
    client: AsyncTestClient, conn: asyncpg.Connection, whitelist: dict[str, int]
) -> None:
    email = await make_account(conn, "resident")
    headers = await login_headers(client, email)
    listed = await client.get("/residents/compounds", headers=headers)
    assert sorted(c["name"] for c in listed.json()) == sorted(whitelist)
    assert "phone" not in listed.text and "entries" not in listed.text


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("13800138001", "13800138001"),
        ("138 0013 8001", "13800138001"),
        ("138-0013-8001", "13800138001"),
        ("+86 13800138001", "13800138001"),
        ("+86-138-0013-8001", "13800138001"),
        ("008613800138001", "13800138001"),
        ("8613800138001", "13800138001"),
        ("１３８００１３８００１", "13800138001"),
        ("0755-2345 6789", "075523456789"),
        ("86123456", "86123456"),  # a local number that starts with 86 keeps it
    ],
)
def test_normalize_phone(raw: str, phone: str) -> None:
    assert normalize_phone(raw) == phone


@pytest.mark.parametrize("raw", ["", "12345", "1380013800112345678", "138OO138001", "+86"])
def test_normalize_phone_refuses(raw: str) -> None:
    with pytest.raises(ValueError, match="6 to 15 digits"):
        normalize_phone(raw)
