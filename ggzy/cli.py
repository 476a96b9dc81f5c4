"""The `ggzy` command line (CONTRACT.md, "CLI")."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from domain.errors import DomainError
from ggzy.config import Config
from services.platform import Platform


class _Group(click.Group):
    """Prints domain errors and an unreachable database plainly instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            _print_error(exc)
            sys.exit(1)
        except OperationalError as exc:
            click.echo(f"数据库错误 (database error): {exc.orig}", err=True)
            sys.exit(1)


def _print_error(exc: DomainError, prefix: str = "") -> None:
    click.echo(f"{prefix}错误 (error): {exc.message}", err=True)
    details = exc.errors if isinstance(exc.errors, list) else [exc.errors] if exc.errors else []
    for item in details:
        if isinstance(item, dict):
            where = item.get("element_id") or item.get("field") or "-"
            click.echo(f"  {where}: {item.get('message', item)}", err=True)
        else:
            click.echo(f"  {item}", err=True)


def _platform(**overrides: Any) -> Platform:
    """The platform of this command, its connections closed when the command ends."""
    p = Platform.build(Config.from_env(**overrides))
    click.get_current_context().call_on_close(p.db.dispose)
    return p


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """ggzy: 公共资源交易平台 BPMN process engine."""


@main.command()
def init() -> None:
    """Migrate the database and deploy new forms and BPMN files."""
    from services.bootstrap import init as bootstrap

    result = bootstrap(_platform())
    click.echo(f"calendar years added: {result['calendar_years_added']}")
    forms = result["forms"]
    new_forms = [f for f in forms if f.get("created")]
    click.echo(f"forms: {len(forms)} ({len(new_forms)} new)")
    for form in new_forms:
        click.echo(f"  {form.get('key')} v{form.get('version')}")
    processes = result["processes"]
    click.echo(f"processes: {len(processes)} ({sum(1 for d in processes if d['created'])} new)")
    for d in processes:
        click.echo(f"  {d['key']} v{d['version']}" + ("" if d["created"] else " (unchanged)"))


@main.command()
@click.option("--host", default=None, help="default GGZY_HOST or 127.0.0.1")
@click.option("--port", type=int, default=None, help="default GGZY_PORT or 8080")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="API processes; more than 1 serves with gunicorn (production mode)")
@click.option("--threads", type=click.IntRange(min=1), default=None, envvar="GGZY_API_THREADS",
              help="threads per API process (default 8; env GGZY_API_THREADS)")
def serve(host: str | None, port: int | None, workers: int, threads: int | None) -> None:
    """Serve the API and web pages (with the embedded timer worker when no Redis URL is set)."""
    from api.app import create_app
    from ggzy.server import THREADS

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    config = Config.from_env(**overrides)
    _log_api_to_stderr()
    if workers > 1:
        from ggzy.server import PortInUse, ensure_port_free, serve_gunicorn

        try:
            ensure_port_free(config.host, config.port)
        except PortInUse as exc:
            raise click.ClickException(str(exc)) from None
        timers = f"celery via {config.redis_url}" if config.redis_url else "embedded worker in each process"
        click.echo(f"ggzy serving on http://{config.host}:{config.port}/ with gunicorn, {workers} workers "
                   f"(timers: {timers})")
        serve_gunicorn(config, workers, threads or THREADS)
        return
    try:
        import waitress
    except ImportError:
        raise click.ClickException("waitress is not installed: run `make venv` (pip install -e .)") from None
    app = create_app(config)
    timers = f"celery via {config.redis_url}" if config.redis_url else "embedded worker"
    click.echo(f"ggzy serving on http://{config.host}:{config.port}/ (timers: {timers})")
    # Sealed bids stream up to GGZY_BID_MAX_BYTES (2 GiB by default); waitress would stop at 1 GiB.
    waitress.serve(app, host=config.host, port=config.port, threads=threads or THREADS,
                   max_request_body_size=3 * 1024**3)


def _log_api_to_stderr() -> None:
    """The API's own log lines (conflicts, unexpected errors, each with its request id) on stderr, beside the
    server's, at INFO (gunicorn's workers inherit this)."""
    import logging

    logger = logging.getLogger("api")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


@main.command()
@click.option("--concurrency", type=int, default=None, help="worker processes (default: CPU count)")
@click.option("--loglevel", default="info", show_default=True)
@click.option("--pool", default="prefork", show_default=True, help="prefork, threads or solo")
@click.option("--beat/--no-beat", default=True, show_default=True,
              help="embed the beat; run exactly one beat (`ggzy beat`) when starting several workers")
@click.option("--hostname", default=None, help="Celery node name, unique per worker (default celery@HOST)")
def worker(concurrency: int | None, loglevel: str, pool: str, beat: bool, hostname: str | None) -> None:
    """Run a Celery worker for timers, with the beat embedded unless --no-beat (needs GGZY_REDIS_URL)."""
    config = _celery_config()
    from workers.celery_app import SCAN_QUEUE, make_celery

    app = make_celery(config)
    # Both queues: the scans' own first, then the firing tasks (the default queue).
    argv = ["worker", f"--loglevel={loglevel}", f"--pool={pool}", *(["-B"] if beat else []),
            f"--queues={SCAN_QUEUE},{app.conf.task_default_queue}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


@main.command()
@click.option("--loglevel", default="info", show_default=True)
def beat(loglevel: str) -> None:
    """Run only the Celery beat that schedules the timer scans (one per deployment; needs GGZY_REDIS_URL)."""
    from workers.celery_app import make_celery

    make_celery(_celery_config()).start(["beat", f"--loglevel={loglevel}"])


@main.command()
@click.option("--api-workers", type=click.IntRange(min=1), default=2, show_default=True, help="gunicorn processes")
@click.option("--celery-workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Celery worker processes (beat runs once, beside them)")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True,
              help="pool processes of each Celery worker")
@click.option("--loglevel", default="warning", show_default=True, help="of the Celery processes")
def up(api_workers: int, celery_workers: int, concurrency: int, loglevel: str) -> None:
    """Migrate and deploy, then run gunicorn, Celery workers and beat until Ctrl-C (PostgreSQL and Redis)."""
    import os

    from ggzy.server import supervise, up_children
    from services.bootstrap import init as bootstrap

    if not os.environ.get("GGZY_DATABASE_URL") or not os.environ.get("GGZY_REDIS_URL"):
        click.echo("错误 (error): `ggzy up` needs GGZY_DATABASE_URL (PostgreSQL) and GGZY_REDIS_URL", err=True)
        sys.exit(2)
    bootstrap(_platform())
    sys.exit(supervise(up_children(api_workers, celery_workers, concurrency, loglevel)))


def _celery_config() -> Config:
    """The configuration of a Celery process; exits when no Redis URL is set."""
    config = Config.from_env()
    if not config.redis_url:
        click.echo("错误 (error): GGZY_REDIS_URL is not set; without Redis, timers run inside `ggzy serve`.",
                   err=True)
        sys.exit(2)
    return config


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def deploy(paths: tuple[Path, ...]) -> None:
    """Deploy BPMN files; prints key and version of each."""
    from domain.access import SYSTEM
    from services.definitions import deploy_bytes

    p = _platform()
    failed = False
    for path in paths:
        try:
            definition, created = deploy_bytes(p, path.read_bytes(), SYSTEM)
        except DomainError as exc:
            failed = True
            _print_error(exc, prefix=f"{path}: ")
            continue
        click.echo(f"{definition['key']} {definition['version']}" + ("" if created else " (unchanged)"))
    if failed:
        sys.exit(1)


@main.group()
def users() -> None:
    """Manage users and their tokens."""


@users.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="repeat for several roles")
@click.option("--region", default=None, help="six-digit administrative division code")
@click.option("--org", default=None, help="unified social credit code (USCC) of the organisation")
@click.option("--password-stdin", is_flag=True, help="read a web login password from the first line of stdin")
def users_create(name: str, roles: tuple[str, ...], region: str | None, org: str | None,
                 password_stdin: bool) -> None:
    """Create a user; prints one JSON line with the token (shown only once)."""
    from services.users import create_user

    password = _stdin_password() if password_stdin else None
    created = create_user(_platform(), name, list(roles), region=region, org=org, password=password)
    click.echo(json.dumps(created, ensure_ascii=False))


@users.command("password")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="read the password from stdin instead of prompting")
def users_password(name: str, from_stdin: bool) -> None:
    """Set or change a user's web login password (signs out the user's open web sessions)."""
    from services.users import set_password

    if from_stdin or not sys.stdin.isatty():
        password = _stdin_password()
    else:
        password = click.prompt("新密码 (new password)", hide_input=True, confirmation_prompt=True)
    changed = set_password(_platform(), name, password)
    click.echo(json.dumps(changed, ensure_ascii=False))


def _stdin_password() -> str:
    """The first line of stdin without its line ending; passwords never go on the command line."""
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException("标准输入中没有密码 (no password on stdin)")
    return line


@main.group()
def audit() -> None:
    """Audit log tools."""


@audit.command("verify")
@click.argument("instance_id", required=False)
def audit_verify(instance_id: str | None) -> None:
    """Check the hash chains of the event log (all, or one instance)."""
    from services.audit import verify

    p = _platform()
    with p.db.sessions() as session:
        checked, broken = verify(session, instance_id)
    if broken is None:
        click.echo(f"ok: {checked} events verified")
        return
    click.echo(f"broken: instance {broken['instance_id']} seq {broken['seq']}: {broken['problem']} "
               f"({checked} events verified before it)")
    sys.exit(1)


@main.group()
def timers() -> None:
    """Timer tools for operations."""


@timers.command("fire")
def timers_fire() -> None:
    """Fire every due timer once, now."""
    from services.timers import fire_due

    result = fire_due(_platform())
    click.echo(f"fired {result['timers']} timers in {result['instances']} instances")


if __name__ == "__main__":
    main()
