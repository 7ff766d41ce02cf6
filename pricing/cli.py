"""``parking advise``: the plan advisor on a building's recorded use, from the command line."""

from __future__ import annotations

import datetime as dt

import asyncpg
import click

from pricing.advisor import Advice

__all__ = ["advise", "format_advice"]

_FIND_BUILDING = """
SELECT id FROM buildings WHERE id::text = $1 OR district_place_id = $1
ORDER BY (id::text = $1) DESC LIMIT 1
"""


def _cny(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d} CNY" if fen >= 0 else f"-{_cny(-fen)}"


def _pct(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d} %"


def format_advice(advice: Advice) -> str:
    """The advice as a short report: both outcomes, the recommendation, the assumptions."""
    lines = [
        f"building {advice.building_id}, nights {advice.first_night} to {advice.last_night}",
    ]
    for label, outcome in (("recorded", advice.recorded), ("what-if", advice.what_if)):
        lines.append(
            f"{label:>9}: {outcome.mode.value:<8} revenue {_cny(outcome.revenue_fen)}, "
            f"{outcome.entries} entries, {_pct(outcome.utilization_bp)} filled"
        )
    lines.append(f"what-if fee: {_cny(advice.what_if_fee_fen)}")
    lines.append(f"recommendation: {advice.recommendation}")
    lines.append(f"reason: {advice.reason}")
    lines.append("assumptions:")
    lines.extend(f"  - {text}" for text in advice.assumptions)
    return "\n".join(lines)


@click.command("advise")
@click.argument("building")
@click.option(
    "--from",
    "first",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First night of the period (YYYY-MM-DD).",
)
@click.option(
    "--to",
    "last",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last night of the period (YYYY-MM-DD), before tonight.",
)
@click.option("--per-use-fee-fen", type=click.IntRange(min=0), default=None, help="What-if fee.")
@click.option("--monthly-fee-fen", type=click.IntRange(min=0), default=None, help="What-if fee.")
@click.option("--json", "as_json", is_flag=True, help="Print the advice as JSON.")
def advise(
    building: str,
    first: dt.datetime,
    last: dt.datetime,
    per_use_fee_fen: int | None,
    monthly_fee_fen: int | None,
    as_json: bool,
) -> None:
    """Monthly pass or per use: BUILDING's (id or district place id) recorded use of a past
    period, what the other mode would have earned and filled, and a recommendation."""
    from parking.cli import _settings_with_database, _with_connection
    from parking.clock import utc_now
    from parking.errors import Problem
    from pricing.service import advice

    settings = _settings_with_database()

    async def work(conn: asyncpg.Connection) -> Advice:
        building_id = await conn.fetchval(_FIND_BUILDING, building)
        if building_id is None:
            raise click.ClickException(f"there is no building {building}")
        async with conn.transaction(readonly=True):
            return await advice(
                conn,
                None,
                building_id,
                first_night=first.date(),
                last_night=last.date(),
                per_use_fee_fen=per_use_fee_fen,
                monthly_fee_fen=monthly_fee_fen,
                now=utc_now(),
                tz=settings.tz,
            )

    try:
        result = _with_connection(settings, work)
    except Problem as exc:
        raise click.ClickException(exc.detail or str(exc)) from exc
    click.echo(result.model_dump_json(indent=2) if as_json else format_advice(result))
