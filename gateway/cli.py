"""The operator CLI, `meerpunt-gateway` (SPEC §7: stable, the README and external tests use it)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="meerpunt-gateway",
    help="Meerpunt Gateway: secure exchange of case information between the Meerpunt partners.",
    no_args_is_help=True,
    add_completion=False,
)
audit_app = typer.Typer(help="The art. 8 register.", no_args_is_help=True)
pki_app = typer.Typer(help="Development PKI.", no_args_is_help=True)
keys_app = typer.Typer(help="Key-encryption keys of payloads at rest (rotation).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(pki_app, name="pki")
app.add_typer(keys_app, name="keys")

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Path to gateway.toml", exists=True, dir_okay=False)
]
CONFIG_ENV = "MEERPUNT_CONFIG"
LOG_LEVEL_ENV = "MEERPUNT_LOG_LEVEL"
GRACE_ENV = "MEERPUNT_SHUTDOWN_GRACE_SECONDS"


@app.command()
def init(
    directory: Annotated[
        Path, typer.Option("--dir", help="Directory for the development environment")
    ] = Path(".dev"),
) -> None:
    """Create a complete development environment: CA, certificates, keys, gateway.toml (idempotent)."""
    from gateway.pki import init_dev_environment

    env = init_dev_environment(directory)
    typer.echo(f"Development environment ready in {env.directory}")
    typer.echo(f"  config:   {env.config_file}")
    typer.echo(f"  CA:       {env.ca_file}")
    typer.echo(
        f"  partners: {len(env.partner_oins)} client certificates in {env.directory / 'pki' / 'partners'}"
    )


@app.command()
def migrate(config: ConfigOption) -> None:
    """Apply pending database migrations."""
    from gateway.db import create_db_engine
    from gateway.migrate import upgrade
    from gateway.settings import load_settings

    settings = load_settings(config)
    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    typer.echo("database is up to date")


def build_app_from_env() -> Any:
    """uvicorn factory for `serve --workers N`: each worker process builds its own app."""
    from gateway.app import create_app
    from gateway.errors import configure_logging
    from gateway.settings import load_settings

    global _served
    configure_logging(os.environ.get(LOG_LEVEL_ENV, "info"))  # a worker process starts afresh

    app = create_app(load_settings(Path(os.environ[CONFIG_ENV])))
    _served = True
    return app


def ssl_context_from_env(_config: Any, _default: Any) -> Any:
    from gateway.settings import load_settings
    from gateway.tls import build_server_ssl_context

    return build_server_ssl_context(load_settings(Path(os.environ[CONFIG_ENV])))


#: Set once this process has built the app: from then on uvicorn owns SIGTERM until it has shut
#: down gracefully, and only then hands the signal on to `_exit_cleanly`.
_served = False


def _exit_cleanly(_signum: int, _frame: object) -> None:
    """SIGTERM outside uvicorn's own handling: exit 0.

    After uvicorn's graceful shutdown (requests finished, workers stopped, pool closed) there is
    nothing left to clean up, and the interpreter's own teardown of some hundred modules took
    over a second of CPU (several on a busy node) of the orchestrator's grace period: skip it.
    Before serving (during migrations) exit normally, so open transactions roll back.
    """
    if _served:
        logging.shutdown()  # flush the log handlers: os._exit skips atexit
        os._exit(0)
    raise SystemExit(0)


@app.command()
def serve(
    config: ConfigOption,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTPS port")] = 8443,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (default: min(CPU cores, 4) on PostgreSQL, counting a container's "
            "CPU quota; 1 on SQLite)"
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
    graceful_timeout: Annotated[
        int | None,
        typer.Option(
            help="Seconds requests in flight may take to finish after SIGTERM "
            "(default: shutdown_grace_seconds, 20)",
            min=1,
        ),
    ] = None,
) -> None:
    """Serve the API over HTTPS with client-certificate authentication (TLS 1.2+).

    SIGTERM (or Ctrl-C) stops it gracefully, with any number of workers: no new connections,
    idle keep-alive connections closed at once, requests in flight finished (answered with
    `Connection: close`) within the grace period, background workers stopped, database pool
    closed, exit code 0 (docs/operations.md, "Shutdown").
    """
    import signal

    import uvicorn

    from gateway.db import create_db_engine
    from gateway.errors import configure_logging
    from gateway.migrate import upgrade
    from gateway.settings import load_settings
    from gateway.tls import PeerCertProtocol

    configure_logging(log_level)
    os.environ[CONFIG_ENV] = str(config.resolve())
    os.environ[LOG_LEVEL_ENV] = log_level
    if graceful_timeout is not None:  # worker processes read their settings afresh
        os.environ[GRACE_ENV] = str(graceful_timeout)
    settings = load_settings(config)
    # uvicorn handles SIGTERM itself while it serves and, once it has shut down gracefully,
    # raises the signal again for the handler it found. The default handler would then end the
    # process with "killed by SIGTERM" (exit 143) after a clean stop; orchestrators and systemd
    # read that as a failure. A SIGTERM before uvicorn runs (during migrations) stops us as well.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    from gateway.serve_defaults import KEEP_ALIVE_SECONDS, default_workers

    if workers is None:
        workers = default_workers(settings.database_url)
    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    uvicorn.run(
        "gateway.cli:build_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=PeerCertProtocol,
        loop="uvloop",
        ssl_certfile=str(settings.tls_cert_file),
        ssl_keyfile=str(settings.tls_key_file),
        ssl_context_factory=ssl_context_from_env,
        # uvicorn's access log prints raw paths and query strings, which can hold a BSN
        # (/v1/subjects/{bsn}/…, ?subject_bsn=); request metrics use route templates instead.
        access_log=False,
        log_level=log_level,
        # uvicorn's own loggers propagate to the root handler set up above (RedactingFormatter).
        log_config=None,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        # Partners connect directly (TCP passthrough: the client certificate must reach the
        # gateway), so no proxy's X-Forwarded-* header is to be believed; nor is the server's name
        # anybody's business.
        proxy_headers=False,
        server_header=False,
    )


@app.command()
def healthcheck(
    config: ConfigOption,
    port: Annotated[int, typer.Option(help="HTTPS port of the local gateway")] = 8443,
    path: Annotated[str, typer.Option(help="/healthz (alive) or /readyz (database reachable)")] = "/healthz",
) -> None:
    """Probe the gateway on this host (container HEALTHCHECK): exit 0 when it answers 200.

    Presents the gateway's own client certificate, so the probe also works when the listener
    requires one (`tls_client_auth = "required"`). The server certificate is not checked: the
    probe talks to 127.0.0.1, and a production certificate names the public host, not localhost.
    """
    import ssl

    import httpx

    from gateway.settings import load_settings

    settings = load_settings(config)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(str(settings.gateway_client_cert_file), str(settings.gateway_client_key_file))
    try:
        response = httpx.get(f"https://127.0.0.1:{port}{path}", verify=context, timeout=4)
    except httpx.HTTPError as exc:
        typer.echo(f"unhealthy: {exc.__class__.__name__}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"{path}: {response.status_code}")
    if response.status_code != 200:
        raise typer.Exit(code=1)


@app.command("dev-token")
def dev_token(
    config: ConfigOption,
    role: Annotated[str, typer.Option(help="privacy_officer or citizen")],
    org: Annotated[str | None, typer.Option(help="Officer's organisation: an OIN or 'meerpunt'")] = None,
    bsn: Annotated[str | None, typer.Option(help="Citizen's BSN")] = None,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    hours: Annotated[int, typer.Option(help="Lifetime in hours")] = 8,
) -> None:
    """Print a development bearer token signed with the local token-signing key.

    A citizen's token carries a BSN, so it is printed sealed (encrypted for this environment's
    gateway, which opens it): the BSN never shows on the terminal or in logs.
    """
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric import ec

    from consent.bsn import is_valid_bsn
    from gateway.auth import mint_dev_token
    from gateway.pki import load_private_key
    from gateway.registry import load_partners
    from gateway.sealed_tokens import seal, sealing_key
    from gateway.settings import load_settings

    settings = load_settings(config)
    if settings.environment != "development":
        raise typer.BadParameter("dev-token only works in a development environment")
    if role == "privacy_officer" and not org:
        raise typer.BadParameter("--org is required for --role privacy_officer")
    if role == "citizen" and not bsn:
        raise typer.BadParameter("--bsn is required for --role citizen")
    if role not in ("privacy_officer", "citizen"):
        raise typer.BadParameter("--role must be privacy_officer or citizen")
    if bsn is not None and not is_valid_bsn(bsn):
        raise typer.BadParameter("--bsn must be 9 digits that pass the 11-check")
    if role == "privacy_officer" and org != "meerpunt" and org not in load_partners(settings.partners_file):
        raise typer.BadParameter("--org must be 'meerpunt' or the OIN of a partner in the registry")
    issuer = next((i for i in settings.token_issuers if i.public_key_file is not None), None)
    if issuer is None or issuer.public_key_file is None:
        raise typer.BadParameter("no token issuer with a local public_key_file is configured")
    key_file = issuer.public_key_file.with_name(issuer.public_key_file.name.replace(".pub.pem", ".key"))
    key = load_private_key(key_file)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    token = mint_dev_token(
        key,
        issuer=issuer.issuer,
        audience=issuer.audience,
        role=role,
        org=org,
        bsn=bsn,
        name=name,
        lifetime=dt.timedelta(hours=hours),
    )
    if bsn is not None:
        # Never a readable BSN on stdout: only this environment's gateway can open the token.
        token = seal(token, sealing_key(settings.bsn_hash_key_bytes()))
    typer.echo(token)


@app.command()
def deliver(
    config: ConfigOption,
    until_idle: Annotated[
        bool, typer.Option(help="Stop when nothing is due instead of polling forever")
    ] = False,
) -> None:
    """Run a delivery worker (push and e-mail) without the API (several may run side by side on PG).

    SIGTERM ends it after the current round of deliveries, exit code 0. Without a handler it
    would die mid-delivery, or, as PID 1 in a container (where the default action is ignored),
    not stop at all until SIGKILL.
    """
    import logging
    import signal
    import threading

    from adapters.email import drain_once as email_drain_once
    from adapters.push import drain_once, housekeeping_if_due, make_client, pending_count
    from gateway.errors import configure_logging
    from gateway.runtime import build_runtime
    from gateway.settings import load_settings

    configure_logging("INFO")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    runtime = build_runtime(load_settings(config))
    client = make_client(runtime)
    delivered = 0
    housekeeping_due = 0.0  # payload retention, at start and periodically
    logging.getLogger("meerpunt.gateway").info("delivery worker running (SIGTERM stops it)")
    try:
        while not stopping.is_set():
            housekeeping_due = housekeeping_if_due(runtime, housekeeping_due)
            delivered += drain_once(runtime, client) + email_drain_once(runtime)
            if until_idle and pending_count(runtime) == 0:
                break
            stopping.wait(runtime.settings.outbox_poll_seconds)
    finally:
        client.close()
        runtime.dispose()
    typer.echo(f"delivered {delivered}")


@audit_app.command("verify")
def audit_verify(
    config: ConfigOption,
    trusted_checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--trusted-checkpoint",
            help="A checkpoint saved earlier (its JWS, or the JSON of GET /v1/audit/checkpoint); "
            "the register must extend it. May be given more than once.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Verify the whole register; exits non-zero naming the first bad entry."""
    from gateway.runtime import build_runtime
    from gateway.settings import load_settings

    runtime = build_runtime(load_settings(config))
    try:
        from audit.verify import TrustedCheckpointError, verify_register

        trusted = [path.read_text() for path in trusted_checkpoint or []]
        try:
            report = verify_register(runtime, trusted_checkpoints=trusted)
        except TrustedCheckpointError as exc:
            typer.echo(f"trusted checkpoint refused: {exc}", err=True)
            raise typer.Exit(code=2) from None
    finally:
        runtime.dispose()
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(code=1)


@audit_app.command("checkpoint")
def audit_checkpoint(config: ConfigOption) -> None:
    """Sequence the entries awaiting the sequencer and sign a tree head now; print it (JSON)."""
    import json

    from gateway.runtime import build_runtime
    from gateway.settings import load_settings

    runtime = build_runtime(load_settings(config))
    try:
        from audit.schemas import checkpoint_view
        from audit.sequencer import checkpoint_now

        head = checkpoint_now(runtime)
        typer.echo(json.dumps(checkpoint_view(head, runtime.signer.public_jwk), indent=2))
    finally:
        runtime.dispose()


@keys_app.command("rotate-kek")
def keys_rotate_kek(
    config: ConfigOption,
    batch_size: Annotated[int, typer.Option(help="Payloads re-wrapped per transaction", min=1)] = 500,
) -> None:
    """Re-wrap every stored data key (and re-seal consents' BSNs) under the current KEK
    (`kek_current`), while the gateway runs.

    Resumable: run it again after an interruption. Exits 1 when payloads remain that no configured
    key opens (they are listed by message id in the log).
    """
    from exchange.kek_rotation import rotate_kek
    from gateway.db import create_db_engine
    from gateway.errors import configure_logging
    from gateway.settings import load_settings

    configure_logging("INFO")
    settings = load_settings(config)
    ring = settings.kek_ring()
    engine = create_db_engine(settings.database_url)
    try:
        result = rotate_kek(engine, ring, batch_size=batch_size)
    finally:
        engine.dispose()
    typer.echo(
        f"re-wrapped {result.rewrapped} data keys and re-sealed {result.resealed} consent BSNs "
        f"under {ring.current!r}; {result.skipped} changed meanwhile (shredded or deleted) and "
        f"were left; {len(result.failed)} cannot be unwrapped"
    )
    if result.failed:
        raise typer.Exit(code=1)


@keys_app.command("status")
def keys_status(config: ConfigOption) -> None:
    """Per KEK id: how many stored payloads and consents' sealed BSNs still depend on it. An old id
    at 0 can be removed from the configuration; exits 1 when any depend on an unconfigured id."""
    from exchange.kek_rotation import kek_status
    from gateway.db import create_db_engine
    from gateway.settings import load_settings

    settings = load_settings(config)
    ring = settings.kek_ring()
    engine = create_db_engine(settings.database_url)
    try:
        usage = kek_status(engine, ring)
    finally:
        engine.dispose()
    typer.echo(f"{'kek_id':<24} {'payloads':>9} {'consents':>9}  state")
    missing = 0
    for row in usage:
        if row.current:
            state = "current"
        elif not row.configured:
            state = "NOT CONFIGURED: these cannot be opened"
            missing += row.payloads + row.consents
        elif row.payloads or row.consents:
            state = "old: run `keys rotate-kek`"
        else:
            state = "old: nothing depends on it, may be removed"
        typer.echo(f"{row.kek_id:<24} {row.payloads:>9} {row.consents:>9}  {state}")
    if missing:
        raise typer.Exit(code=1)


@pki_app.command("revoke")
def pki_revoke(
    directory: Annotated[Path, typer.Option("--dir", help="Development environment directory")],
    cert: Annotated[Path, typer.Option("--cert", help="Certificate file to revoke", exists=True)],
) -> None:
    """Add a certificate to the development CRL (picked up by a running gateway)."""
    from gateway.pki import revoke_certificate

    serial = revoke_certificate(directory, cert)
    typer.echo(f"revoked serial {serial:x}")


def main() -> None:
    app()
