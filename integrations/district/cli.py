"""District sync commands: ``relay``, ``outbox list|replay``, ``reconcile``, ``district-sim``."""

from __future__ import annotations

import asyncio
import signal

import click

__all__ = ["district_sim", "outbox", "reconcile", "relay"]


def _settings():
    from parking.cli import _settings_with_database

    return _settings_with_database()


async def _with_pool(settings, work):
    from parking.db import create_pool

    pool = await create_pool(settings.database_url, min_size=1, max_size=4)
    try:
        return await work(pool)
    finally:
        await pool.close()


@click.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def relay(once: bool) -> None:
    """Deliver the outbox to the district platform (until SIGTERM, or --once), and apply
    the platform's suspensions as they begin and end."""
    from integrations.district.relay import relay_once, run_relay
    from integrations.district.suspensions import housekeeping

    settings = _settings()
    if settings.district_url is None:
        click.echo("PARKING_DISTRICT_URL is unset: district sync is off; nothing to relay")
        return

    async def drain(pool) -> int:
        click.echo(await housekeeping(pool, settings))
        total = 0
        while handled := await relay_once(pool, settings):
            total += handled
        return total

    async def forever(pool) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_relay(pool, settings, stop=stop)

    if once:
        click.echo(f"handled {asyncio.run(_with_pool(settings, drain))} messages")
    else:
        asyncio.run(_with_pool(settings, forever))


@click.group()
def outbox() -> None:
    """Messages to the district platform: list them, replay dead letters."""


@outbox.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "delivered", "dead", "superseded", "all"]),
    default="dead",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def outbox_list(status: str, limit: int) -> None:
    """Messages of one status, newest first."""
    from integrations.district.outbox import list_messages
    from parking.cli import _with_connection

    settings = _settings()
    messages = _with_connection(
        settings, lambda conn: list_messages(conn, None if status == "all" else status, limit)
    )
    if not messages:
        click.echo(f"no {status if status != 'all' else ''} messages".replace("  ", " "))
    for m in messages:
        click.echo(
            f"{m.id:>8}  {m.status:10}  {m.entity_kind:12} {m.entity_key:28} v{m.version:<5}"
            f" attempts {m.attempts:<3} {m.created_at:%Y-%m-%d %H:%M:%S}"
            + (f"  {m.last_error}" if m.last_error else "")
        )


@outbox.command("replay")
@click.argument("outbox_id", type=int, required=False)
@click.option("--all-dead", is_flag=True, help="Replay every dead letter.")
def outbox_replay(outbox_id: int | None, all_dead: bool) -> None:
    """Send a dead letter again as a new message (ID, or --all-dead)."""
    from integrations.district.outbox import replay, replay_all_dead
    from parking.cli import _with_connection
    from parking.errors import Problem

    if (outbox_id is None) == (not all_dead):
        raise click.UsageError("give an outbox ID or --all-dead (one of them)")
    settings = _settings()

    async def work(conn):
        async with conn.transaction():
            return await replay_all_dead(conn) if all_dead else [await replay(conn, outbox_id)]

    try:
        replays = _with_connection(settings, work)
    except Problem as exc:
        raise click.ClickException(exc.detail) from exc
    if not replays:
        click.echo("no dead letters")
    for r in replays:
        click.echo(f"{r.id}: {r.result} ({r.entity_kind} {r.entity_key} version {r.version})")


@click.command()
def reconcile() -> None:
    """Compare with what the platform holds, re-send what differs, print what was fixed."""
    import httpx

    from integrations.district.reconcile import reconcile as run

    settings = _settings()
    try:
        report = asyncio.run(_with_pool(settings, lambda pool: run(pool, settings)))
    except httpx.HTTPError as exc:  # down, refused, or an error answer to a read
        raise click.ClickException(
            f"the district platform could not be read: {type(exc).__name__}: {exc}"
        ) from exc
    for line in report.lines():
        click.echo(line)


@click.command("district-sim")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8100, show_default=True)
@click.option(
    "--secret", envvar="PARKING_DISTRICT_SECRET", required=True, help="whsec_... (shared)."
)
@click.option(
    "--operator", envvar="PARKING_DISTRICT_OPERATOR_ID", default="op-local", show_default=True
)
@click.option(
    "--operator-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where the operator's service answers (for bookings and events the simulator sends).",
)
def district_sim(host: str, port: int, secret: str, operator: str, operator_url: str) -> None:
    """Run a district platform simulator (state and fault switches under /sim/)."""
    from integrations.district.simulator import PlatformSimulator

    sim = PlatformSimulator(
        secret=secret, operator_id=operator, operator_url=operator_url, host=host, port=port
    )
    click.echo(f"district simulator for operator {operator} on {sim.url}  (state: /sim/state)")
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
