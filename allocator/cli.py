"""`parking allocate-file`: solve an instance file into a solution file, no database.

An invalid instance exits non-zero with every problem named by field and id; progress
goes to stderr so stdout stays clean for pipes.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from allocator.instance import InstanceError, load_instance
from allocator.solver import solve
from allocator.validate import check

__all__ = ["allocate_file"]


@click.command("allocate-file")
@click.argument("instance_path", metavar="INSTANCE.json", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the solution (shared-parking-night-solution/1).",
)
@click.option(
    "--time-limit",
    "time_limit_s",
    default=60.0,
    show_default=True,
    type=float,
    help="Seconds the solver may spend.",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Solver threads (CP-SAT workers, PDLP threads).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed, for reproducible runs."
)
def allocate_file(
    instance_path: Path, output_path: Path, time_limit_s: float, workers: int, seed: int
) -> None:
    """Allocate the night in INSTANCE.json and write the solution to -o."""
    try:
        raw = json.loads(instance_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise click.ClickException(f"cannot read {instance_path}: {error.strerror}") from None
    except ValueError as error:
        raise click.ClickException(f"{instance_path} is not JSON: {error}") from None
    try:
        instance = load_instance(raw)
    except InstanceError as error:
        raise click.ClickException(
            "invalid instance:\n" + "\n".join(f"  {p}" for p in error.problems)
        ) from None
    click.echo(
        f"loaded {len(instance.requests)} requests and {len(instance.spaces)} spaces "
        f"for night {instance.night}; solving (limit {time_limit_s:g} s, {workers} workers)",
        err=True,
    )
    solution = solve(instance, time_limit_s=time_limit_s, workers=workers, seed=seed)
    # A wrong answer must never be written as if it were right.
    check(instance, solution)
    output_path.write_text(solution.model_dump_json(indent=1) + "\n", encoding="utf-8")
    click.echo(
        f"{solution.status}: served weight {solution.objective.served_weight} "
        f"(bound {solution.bound.served_weight}), walk {solution.objective.walk_m} m "
        f"(bound {solution.bound.walk_m} m), {len(solution.assignments)} assigned, "
        f"{len(solution.unassigned)} unassigned, {solution.solve_seconds:.2f} s "
        f"-> {output_path}",
        err=True,
    )
