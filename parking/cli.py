"""The ``parking`` command: serve, migrate, accounts, demo data, and the tools of each package."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
import click

from parking.clock import utc_now
from parking.settings import Settings

__all__ = ["cli", "main"]

T = TypeVar("T")


def _settings_with_database() -> Settings:
    """Settings with a database URL, starting the embedded PostgreSQL if none is set."""
    settings = Settings()
    if settings.database_url is None:
        from parking.embedded import start_embedded_postgres

        click.echo(
            f"No PARKING_DATABASE_URL: using embedded PostgreSQL in {settings.data_dir}", err=True
        )
        settings = settings.model_copy(
            update={"database_url": start_embedded_postgres(settings.data_dir)}
        )
    return settings


def _with_connection(settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def run() -> T:
        from parking.db import connect

        conn = await connect(settings.database_url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
def cli(verbose: bool) -> None:
    """Shared-parking service: night sharing of building parking with residents."""
    from parking.logs import configure_logging

    # PARKING_LOG_FORMAT (json or text), read here for every command.
    configure_logging(Settings().log_format, logging.DEBUG if verbose else logging.INFO)


@cli.command()
def migrate() -> None:
    """Apply pending database migrations (safe to run from several processes at once)."""
    from parking.migrate import MigrationError, prepare_database

    settings = _settings_with_database()
    try:
        prepared = _with_connection(settings, prepare_database)
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    for m in prepared.applied:
        click.echo(f"applied {m.version:04d}_{m.name}")
    if prepared.seeded_years:
        years = prepared.seeded_years
        click.echo(f"holiday calendar entered for {len(years)} years ({years[0]}-{years[-1]})")
    if not prepared.applied and not prepared.seeded_years:
        click.echo("database is up to date")


@cli.command("calendar-status")
def calendar_status() -> None:
    """List the years whose official holiday calendar is entered, and by whom."""
    import datetime as dt

    from parking.calendar.service import calendar_status as status

    settings = _settings_with_database()
    years = _with_connection(settings, status)
    if not years:
        click.echo("no year of the holiday calendar is entered; run `parking migrate`")
    for y in years:
        click.echo(
            f"{y.year}  {y.source:7}  {y.holidays:3} holidays  {y.workdays:2} adjusted workdays"
            f"  updated {y.updated_at:%Y-%m-%d}"
        )
    this_year = dt.datetime.now(settings.tz).year
    missing = [y for y in (this_year, this_year + 1) if y not in {c.year for c in years}]
    for year in missing:
        click.echo(
            f"not entered: {year} (working-day and rest-day rules cannot answer its nights; "
            f"an admin enters it with PUT /admin/calendar/{year})",
            err=True,
        )


@cli.command("create-admin")
@click.option("--email", required=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="PARKING_ADMIN_PASSWORD",
    help="Also read from PARKING_ADMIN_PASSWORD.",
)
@click.option("--name", "display_name", default="Administrator")
def create_admin(email: str, password: str, display_name: str) -> None:
    """Create an administrator account."""
    from pydantic import ValidationError

    from parking.accounts.schemas import NewAccount
    from parking.accounts.service import create_account

    try:
        account = NewAccount(
            email=email, password=password, role="admin", display_name=display_name
        )
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from exc
    settings = _settings_with_database()

    async def work(conn: asyncpg.Connection):
        return await create_account(conn, account)

    try:
        user = _with_connection(settings, work)
    except asyncpg.UniqueViolationError as exc:
        raise click.ClickException(f"an account with email {email} already exists") from exc
    click.echo(f"admin account {user.email} created (id {user.id})")


@cli.command("seed-demo")
def seed_demo() -> None:
    """Seed the Shuibei demo: buildings, spaces, compounds, whitelist and demo accounts."""
    from parking.demo import seed_demo as seed

    accounts = _with_connection(_settings_with_database(), seed)
    click.echo("Demo accounts (local use only):")
    for account in accounts:
        click.echo(f"  {account.role:9} {account.email:24} password: {account.password}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the HTTP API (starting the embedded PostgreSQL when no database is configured)."""
    import uvicorn

    from parking.app import create_app

    settings = _settings_with_database()
    click.echo(
        f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/schema)", err=True
    )
    # log_config=None: uvicorn's lines go through the handler configured above (JSON,
    # request ids, masking) instead of its own.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", log_config=None)


@cli.command()
@click.option(
    "--heartbeat",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Touch this file every few seconds while running (for container healthchecks).",
)
def worker(heartbeat: Path | None) -> None:
    """Run the recurring jobs (sweeps, outbox relay, night allocation, reconciliation)
    until SIGTERM; several workers may run at once."""
    from parking.worker import run_worker

    settings = _settings_with_database()
    asyncio.run(run_worker(settings, heartbeat=heartbeat))


@cli.command()
@click.option(
    "--now",
    "now_text",
    default=None,
    metavar="ISO",
    help="Sweep as of this time (ISO 8601 with offset; default: now).",
)
def sweep(now_text: str | None) -> None:
    """Expire stale holds, mark no-shows, purge old idempotency keys; print the counts."""
    import datetime as dt

    from parking.sweeps import run_sweeps

    now = utc_now()
    if now_text is not None:
        try:
            now = dt.datetime.fromisoformat(now_text)
        except ValueError as exc:
            raise click.BadParameter(
                f"not an ISO 8601 time: {now_text}", param_hint="--now"
            ) from exc
        if now.tzinfo is None:
            raise click.BadParameter("give the time with its offset", param_hint="--now")
    settings = _settings_with_database()
    counts = _with_connection(settings, lambda conn: run_sweeps(conn, now, settings))
    click.echo(f"expired holds: {counts.expired_holds}")
    click.echo(f"no-shows: {counts.no_shows}")
    click.echo(f"purged idempotency keys: {counts.purged_idempotency_keys}")
    click.echo(f"rates announced: {counts.rates_announced}")


def _add_package_commands() -> None:
    # Each package owns its commands; the ``parking`` group only gathers them.
    from allocator.cli import allocate, allocate_file
    from integrations.district.cli import district_sim, outbox, reconcile, relay
    from pricing.cli import advise

    cli.add_command(allocate_file)
    cli.add_command(allocate)
    for command in (relay, outbox, reconcile, district_sim):
        cli.add_command(command)
    cli.add_command(advise)


_add_package_commands()


def main() -> None:
    cli()
