"""The office's whitelist file through POST /admin/whitelist/import, and compounds."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.residents.whitelist_csv import parse_whitelist_csv, plan_new_compounds
from tests.helpers import assert_problem, auth_headers

GOOD = """compound,unit,phone
贝丽花园,3栋 502,13800138001
贝丽花园,3栋  1201 ,138-0013-8002
深华丽园,A座 1502,+86 139 0013 9001
"""

_ENTRIES = """
SELECT c.name, w.unit, w.phone
FROM residence_whitelist w JOIN compounds c ON c.id = w.compound_id
ORDER BY c.name, w.unit, w.phone
"""


@pytest.fixture
async def compounds(conn: asyncpg.Connection) -> None:
    """The two compounds the good file names."""
    await conn.execute(
        "INSERT INTO compounds (name, lat, lon) VALUES"
        " ('贝丽花园', 22.5655, 114.1287), ('深华丽园', 22.5668, 114.1321)"
    )


@pytest.fixture
async def admin(client: AsyncTestClient, conn: asyncpg.Connection) -> dict[str, str]:
    return await auth_headers(client, conn, "admin")


async def _import(
    client: AsyncTestClient, headers: dict[str, str], body: str | bytes, mode: str | None = None
):
    content = body.encode() if isinstance(body, str) else body
    url = "/admin/whitelist/import" + (f"?mode={mode}" if mode else "")
    return await client.post(url, content=content, headers={**headers, "content-type": "text/csv"})


@pytest.mark.usefixtures("compounds")
async def test_a_good_file_is_imported_normalised(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    response = await _import(client, admin, GOOD)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "mode": "merge",
        "entries": 3,
        "added": 3,
        "unchanged": 0,
        "removed": 0,
        "unverified": 0,
        "compounds_created": 0,
    }
    rows = [tuple(r) for r in await conn.fetch(_ENTRIES)]
    assert rows == [
        ("深华丽园", "A座 1502", "13900139001"),
        ("贝丽花园", "3栋 1201", "13800138002"),
        ("贝丽花园", "3栋 502", "13800138001"),
    ]

    again = await _import(client, admin, GOOD)
    assert again.json()["added"] == 0 and again.json()["unchanged"] == 3
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 3


@pytest.mark.usefixtures("compounds")
async def test_a_file_with_bom_and_crlf_is_read(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    body = "\ufeff" + GOOD.replace("\n", "\r\n")
    response = await _import(client, admin, body.encode("utf-8"))
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 3
    # The BOM did not end up in the first column's name: the header was understood.
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 3


@pytest.mark.usefixtures("compounds")
async def test_every_bad_line_is_reported_and_nothing_is_written(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    body = """compound,unit,phone
贝丽花园,3栋 502,13800138001
贝丽花园,,13800138002
贝丽花园,5栋 803,not-a-phone

无名小区,1栋 101,13800138004
贝丽花园,3栋 502,13800138001
贝丽花园,3栋 503
深华丽园,B座 703,13900139002
"""
    response = await _import(client, admin, body)
    problem = assert_problem(response, 422, "whitelist-invalid")
    lines = {e["line"]: e["message"] for e in problem["errors"]}
    assert sorted(lines) == [3, 4, 6, 7, 8]
    assert "unit is empty" in lines[3]
    assert "phone" in lines[4]
    assert "Unknown compound '无名小区'" in lines[6]
    assert "same entry as line 2" in lines[7]
    assert "Expected 3 fields" in lines[8]
    assert problem["error_count"] == 5
    # The good lines were not written either, and no compound was created.
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 0
    assert await conn.fetchval("SELECT count(*) FROM compounds") == 2


async def test_a_bad_header_is_line_1(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    response = await _import(client, admin, "compound,room,phone\n贝丽花园,3栋 502,13800138001\n")
    problem = assert_problem(response, 422, "whitelist-invalid")
    assert problem["errors"][0]["line"] == 1
    assert "'room'" in problem["errors"][0]["message"]
    empty = await _import(client, admin, "")
    assert assert_problem(empty, 422, "whitelist-invalid")["errors"][0]["line"] == 1


@pytest.mark.usefixtures("compounds")
async def test_a_file_not_in_utf8_names_the_line(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    body = (
        "compound,unit,phone\n贝丽花园,3栋 502,13800138001\n".encode()
        + "深华丽园,A座 1502,13900139001\n".encode("gbk")
    )
    problem = assert_problem(await _import(client, admin, body), 422, "whitelist-invalid")
    assert problem["errors"] == [
        {
            "line": 3,
            "message": problem["errors"][0]["message"],
            "faults": [{"code": "not-utf8", "params": {}}],
        }
    ]
    assert "UTF-8" in problem["errors"][0]["message"]
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 0


@pytest.mark.usefixtures("compounds")
async def test_replace_removes_entries_not_in_the_file_and_unverifies_their_residents(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    assert (await _import(client, admin, GOOD)).status_code == 200
    # A resident verified with the entry that the new file leaves out.
    resident = await auth_headers(client, conn, "resident")
    verified = await client.post(
        "/residents/me/verification",
        json={"compound": "贝丽花园", "unit": "3栋 1201", "phone": "13800138002"},
        headers=resident,
    )
    assert verified.status_code == 201, verified.text

    replacement = """compound,unit,phone
贝丽花园,3栋 502,13800138001
深华丽园,A座 1502,13900139001
深华丽园,B座 703,13900139002
"""
    response = await _import(client, admin, replacement, mode="replace")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "mode": "replace",
        "entries": 3,
        "added": 1,
        "unchanged": 2,
        "removed": 1,
        "unverified": 1,
        "compounds_created": 0,
    }
    rows = [tuple(r) for r in await conn.fetch(_ENTRIES)]
    assert ("贝丽花园", "3栋 1201", "13800138002") not in rows and len(rows) == 3
    assert await conn.fetchval("SELECT count(*) FROM residencies") == 0
    me = await client.get("/residents/me", headers=resident)
    assert me.json()["verified"] is False
    assert_problem(
        await client.post("/vehicles", json={"plate": "粤B12345"}, headers=resident),
        403,
        "not-verified",
    )


@pytest.mark.usefixtures("compounds")
async def test_merge_keeps_entries_not_in_the_file(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    await _import(client, admin, GOOD)
    response = await _import(client, admin, "compound,unit,phone\n深华丽园,B座 703,13900139002\n")
    assert response.json()["added"] == 1 and response.json()["removed"] == 0
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 4


@pytest.mark.usefixtures("compounds")
async def test_replace_with_no_entries_is_refused(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    await _import(client, admin, GOOD)
    response = await _import(client, admin, "compound,unit,phone\n", mode="replace")
    assert_problem(response, 422, "whitelist-invalid")
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 3


@pytest.mark.usefixtures("compounds")
async def test_a_new_compound_is_created_from_lat_and_lon(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    body = """compound,unit,phone,lat,lon
翠竹苑,2栋 301,13700137001,22.5701,114.1255
翠竹苑,2栋 302,13700137002,,
贝丽花园,3栋 502,13800138001,1.0,1.0
"""
    response = await _import(client, admin, body)
    assert response.status_code == 200, response.text
    assert response.json()["compounds_created"] == 1
    assert response.json()["added"] == 3
    created = await conn.fetchrow("SELECT lat, lon FROM compounds WHERE name = '翠竹苑'")
    assert (created["lat"], created["lon"]) == (22.5701, 114.1255)
    # An existing compound keeps its location whatever the file says.
    kept = await conn.fetchrow("SELECT lat, lon FROM compounds WHERE name = '贝丽花园'")
    assert (kept["lat"], kept["lon"]) == (22.5655, 114.1287)


async def test_an_unknown_compound_without_location_is_a_line_error(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    body = """compound,unit,phone,lat,lon
翠竹苑,2栋 301,13700137001,,
翠竹苑,2栋 302,13700137002,,
松园,1栋 101,13700137003,95,114
"""
    problem = assert_problem(await _import(client, admin, body), 422, "whitelist-invalid")
    errors = {e["line"]: e["message"] for e in problem["errors"]}
    assert sorted(errors) == [2, 3, 4]
    assert "Unknown compound '翠竹苑'" in errors[2] and "Unknown compound '翠竹苑'" in errors[3]
    assert "lat must be between" in errors[4]
    assert await conn.fetchval("SELECT count(*) FROM compounds") == 0


async def test_import_needs_csv_and_a_size_limit(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    as_json = await client.post("/admin/whitelist/import", json={"compound": "x"}, headers=admin)
    assert_problem(as_json, 415, "unsupported-media-type")
    huge = b"compound,unit,phone\n" + b"x" * (5 * 1024 * 1024 + 1)
    assert_problem(await _import(client, admin, huge), 413, "payload-too-large")
    bad_mode = await _import(client, admin, GOOD, mode="wipe")
    assert_problem(bad_mode, 422, "validation-error")


@pytest.mark.usefixtures("compounds")
async def test_list_whitelist_pages_and_filters(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    await _import(client, admin, GOOD)
    page = await client.get("/admin/whitelist", params={"limit": 2}, headers=admin)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 3 and len(body["items"]) == 2 and body["limit"] == 2
    second = await client.get("/admin/whitelist", params={"limit": 2, "offset": 2}, headers=admin)
    assert len(second.json()["items"]) == 1
    compound_id = await conn.fetchval("SELECT id FROM compounds WHERE name = '深华丽园'")
    only = await client.get("/admin/whitelist", params={"compound_id": compound_id}, headers=admin)
    items = only.json()["items"]
    assert [(i["compound_name"], i["unit"], i["verified"]) for i in items] == [
        ("深华丽园", "A座 1502", False)
    ]
    assert_problem(
        await client.get("/admin/whitelist", params={"limit": 0}, headers=admin),
        422,
        "validation-error",
    )


async def test_admin_creates_lists_and_updates_compounds(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/admin/compounds", json={"name": " 翠竹苑 ", "lat": 22.57, "lon": 114.12}, headers=admin
    )
    assert created.status_code == 201, created.text
    compound = created.json()
    assert compound["name"] == "翠竹苑"
    duplicate = await client.post(
        "/admin/compounds", json={"name": "翠竹苑", "lat": 1, "lon": 1}, headers=admin
    )
    assert_problem(duplicate, 409, "compound-name-taken")
    moved = await client.patch(
        f"/admin/compounds/{compound['id']}", json={"lat": 22.58}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() == {**compound, "lat": 22.58}
    assert await conn.fetchval("SELECT lat FROM compounds WHERE id = $1", compound["id"]) == 22.58
    assert_problem(
        await client.patch("/admin/compounds/999999", json={"lat": 1}, headers=admin),
        404,
        "not-found",
    )
    assert_problem(
        await client.patch(f"/admin/compounds/{compound['id']}", json={}, headers=admin),
        422,
        "validation-error",
    )
    assert_problem(
        await client.post(
            "/admin/compounds", json={"name": "Far", "lat": 91, "lon": 0}, headers=admin
        ),
        422,
        "validation-error",
    )
    listed = await client.get("/admin/compounds", headers=admin)
    assert [(c["name"], c["entries"], c["verified"]) for c in listed.json()] == [("翠竹苑", 0, 0)]


@pytest.mark.usefixtures("compounds")
@pytest.mark.parametrize("role", ["resident", "manager"])
async def test_only_admins_use_the_admin_endpoints(
    client: AsyncTestClient, conn: asyncpg.Connection, role: str
) -> None:
    headers = await auth_headers(client, conn, role)
    attempts = [
        await client.get("/admin/compounds", headers=headers),
        await client.post(
            "/admin/compounds", json={"name": "x", "lat": 1, "lon": 1}, headers=headers
        ),
        await client.patch("/admin/compounds/1", json={"lat": 1}, headers=headers),
        await client.get("/admin/whitelist", headers=headers),
        await _import(client, headers, GOOD),
    ]
    for response in attempts:
        assert_problem(response, 403, "forbidden")
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 0
    assert await conn.fetchval("SELECT count(*) FROM compounds") == 2


async def test_managers_and_admins_are_not_residents(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    manager = await auth_headers(client, conn, "manager")
    assert_problem(await client.get("/residents/me", headers=manager), 403, "forbidden")
    assert_problem(await client.get("/vehicles", headers=manager), 403, "forbidden")


def test_parser_reports_line_numbers_of_multi_line_records() -> None:
    data = 'compound,unit,phone\n"贝丽\n花园",3栋 502,13800138001\n贝丽花园,,1\n'.encode()
    parsed = parse_whitelist_csv(data)
    assert [e.line for e in parsed.errors] == [4]


def test_parser_tolerates_trailing_empty_cells_and_blank_lines() -> None:
    data = "Compound , UNIT,phone\n贝丽花园,3栋 502,13800138001,,\n\n,,\n".encode()
    parsed = parse_whitelist_csv(data)
    assert parsed.errors == []
    assert [(e.line, e.compound, e.unit, e.phone) for e in parsed.lines] == [
        (2, "贝丽花园", "3栋 502", "13800138001")
    ]


def test_new_compound_with_two_locations_is_an_error() -> None:
    data = (
        "compound,unit,phone,lat,lon\n"
        "松园,1,13700137001,22.5,114.1\n"
        "松园,2,13700137002,22.6,114.1\n"
    )
    parsed = parse_whitelist_csv(data.encode())
    new, errors = plan_new_compounds(parsed.lines, existing=[])
    assert new == {"松园": (22.5, 114.1)}
    assert [(e.line, "line 2" in e.message) for e in errors] == [(3, True)]


async def test_each_fault_of_a_line_has_a_code_and_the_values_it_names(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    body = "compound,unit,phone,lat,lon\n贝丽花园,,12ab,north,200\n".encode()
    problem = assert_problem(await _import(client, admin, body), 422, "whitelist-invalid")
    [error] = problem["errors"]
    assert error["line"] == 2
    assert error["faults"] == [
        {"code": "empty-field", "params": {"name": "unit"}},
        {"code": "bad-phone", "params": {}},
        {"code": "not-a-number", "params": {"name": "lat", "value": "north"}},
        {"code": "out-of-range", "params": {"name": "lon", "limit": 180}},
    ]
    # The words are the faults' own, in order, as before codes were sent.
    assert error["message"] == (
        "The unit is empty. A phone number has 6 to 15 digits (spaces, dashes and +86 are"
        " allowed). The lat 'north' is not a number. The lon must be between -180 and 180."
    )
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 0
