"""`allocate-file`: writes a valid solution, reports on stderr, and names bad fields."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from allocator import check, load_instance, load_solution
from allocator.cli import allocate_file
from tests.allocator.nights import at, night, request, space


def test_writes_a_valid_optimal_solution(examples_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "solution.json"
    result = CliRunner().invoke(
        allocate_file,
        [
            str(examples_dir / "window-gap-price-ev.json"),
            "-o",
            str(out),
            "--time-limit",
            "5",
            "--workers",
            "1",
            "--seed",
            "7",
        ],
    )
    assert result.exit_code == 0, result.output
    instance = load_instance(json.loads((examples_dir / "window-gap-price-ev.json").read_text()))
    solution = load_solution(out.read_text())
    check(instance, solution)
    expected = json.loads((examples_dir / "expected.json").read_text())["window-gap-price-ev"]
    assert solution.objective.model_dump() == expected
    assert solution.status == "optimal"
    assert result.stdout == ""
    assert "loaded 5 requests and 2 spaces" in result.stderr
    assert "optimal: served weight 3" in result.stderr


def test_invalid_instance_names_field_and_id_and_fails(tmp_path: Path) -> None:
    doc = night([space("S1")], [request("R1"), request("R7", depart=at("19:00"))])
    path = tmp_path / "night.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "solution.json"
    result = CliRunner().invoke(allocate_file, [str(path), "-o", str(out)])
    assert result.exit_code != 0
    assert "requests[R7].depart: must be after arrive" in result.stderr
    assert not out.exists()


def test_not_json_and_missing_file_fail_clearly(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = CliRunner().invoke(allocate_file, [str(broken), "-o", str(tmp_path / "o.json")])
    assert result.exit_code != 0
    assert "is not JSON" in result.stderr
    missing = tmp_path / "missing.json"
    result = CliRunner().invoke(allocate_file, [str(missing), "-o", str(tmp_path / "o.json")])
    assert result.exit_code != 0
    assert "cannot read" in result.stderr


def test_output_is_required(examples_dir: Path) -> None:
    result = CliRunner().invoke(allocate_file, [str(examples_dir / "weight-wins.json")])
    assert result.exit_code == 2
    assert "-o" in result.stderr
