"""`parking allocate-file`: solve an instance file into a solution file, no database.
`parking allocate --night`: run the night job for one night by hand.

An invalid instance exits non-zero with every problem named by field and id; progress
goes to stderr so stdout stays clean for pipes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import click

from allocator.instance import InstanceError, load_instance
from allocator.solver import solve
from allocator.validate import check

__all__ = ["allocate", "allocate_file"]


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


@click.command("allocate")
@click.option(
    "--night",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The night to allocate (YYYY-MM-DD, the local date it starts on).",
)
@click.option(
    "--time-limit",
    "time_limit_s",
    default=None,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds the solver may spend.  [default: PARKING_ALLOCATION_TIME_LIMIT_S]",
)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(min=1),
    help="Solver threads.  [default: PARKING_ALLOCATION_WORKERS]",
)
def allocate(night: dt.datetime, time_limit_s: float | None, workers: int | None) -> None:
    """Run the night job for NIGHT now: decide its pending requests and print a summary.

    Safe beside the workers: a night another run holds is reported busy and left alone,
    and a decided night has nothing pending. Before the night's cutoff it decides the
    requests made so far; later ones wait for the next run.
    """
    from allocator.job import run_night
    from parking.cli import _settings_with_database
    from parking.clock import utc_now
    from parking.db import create_pool
    from parking.requests.service import cutoff_at

    settings = _settings_with_database()
    day = night.date()
    now = utc_now()
    if now < cutoff_at(day, settings):
        click.echo(
            f"night {day}: before its cutoff; requests made after this run wait for the next",
            err=True,
        )

    async def work():
        pool = await create_pool(settings.database_url, min_size=1, max_size=2)
        try:
            return await run_night(
                pool, day, settings, now=now, time_limit_s=time_limit_s, workers=workers
            )
        finally:
            await pool.close()

    result = asyncio.run(work())
    if result.outcome == "busy":
        raise click.ClickException(f"night {day}: another run is allocating it; try later")
    if result.outcome == "failed":
        raise click.ClickException(f"night {day}: failed (run {result.run_id}): {result.error}")
    if result.outcome == "nothing_pending":
        click.echo(f"night {day}: no pending requests; nothing to do")
        return
    assert result.objective is not None and result.bound is not None
    click.echo(
        f"night {day}: run {result.run_id} {result.status}: {result.served} of "
        f"{result.requests} requests allocated, {result.not_allocated} not allocated, "
        f"{result.spaces} spaces offered"
    )
    click.echo(
        f"served weight {result.objective.served_weight} (bound {result.bound.served_weight}), "
        f"walk {result.objective.walk_m} m (bound {result.bound.walk_m} m)"
    )
    click.echo(
        f"build {result.build_ms} ms, solve {result.solve_ms} ms, write {result.write_ms} ms; "
        f"instance sha256 {result.instance_sha256}"
    )
