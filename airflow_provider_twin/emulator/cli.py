"""Command line: ``twin-emulator`` / ``python -m airflow_provider_twin.emulator``.

Starts the emulator in the foreground, prints its base URL and an ``export AIRFLOW_CONN_TWIN_DEFAULT=...``
line, and serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .app import create_app
from .server import ForegroundServer, base_url_for, bind_socket, connection_for, is_loopback, uvicorn_config
from .settings import EmulatorSettings, SettingsError, settings_from_dict
from .state import EmulatorState

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin-emulator",
        description="Run a local, offline emulator of the TWIN (twin24.ai) REST APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)")
    parser.add_argument(
        "--delivery-seconds", type=float, default=None, help="seconds from send to final status (default 2)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for outcome and fault randomness")
    parser.add_argument("--token-ttl-cap", type=float, default=None, help="upper bound of token lifetime (s)")
    parser.add_argument(
        "--outcomes",
        default=None,
        help='weighted outcomes as JSON, e.g. \'{"DELIVERED": 0.9, "ERROR": 0.1}\'',
    )
    parser.add_argument(
        "--outcome-rules",
        default=None,
        help='deterministic outcomes as JSON, e.g. \'[{"channel": "whatsapp", "status": "UNDELIVERED"}]\'',
    )
    parser.add_argument(
        "--expired-token-status", type=int, choices=(401, 403), default=None, help="status for expired tokens"
    )
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="hold clients to what TWIN's documents make explicit (default: $TWIN_EMULATOR_STRICT, else off)",
    )
    parser.add_argument("--log-level", choices=_LOG_LEVELS, default="warning", help="server log level")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the emulator has no real security; keep it local)",
    )
    return parser


def _settings(args: argparse.Namespace) -> EmulatorSettings:
    # A process of its own: keeping the collector off the growing store cannot affect anyone else.
    data: dict[str, Any] = {"host": args.host, "port": args.port, "gc_freeze": True}
    if args.delivery_seconds is not None:
        data["delivery_seconds"] = args.delivery_seconds
    if args.seed is not None:
        data["seed"] = args.seed
    if args.token_ttl_cap is not None:
        data["token_ttl_cap"] = args.token_ttl_cap
    if args.expired_token_status is not None:
        data["expired_token_status"] = args.expired_token_status
    if args.strict is not None:
        data["strict"] = args.strict
    for option, key in (("outcomes", "outcomes"), ("outcome_rules", "outcome_rules")):
        raw = getattr(args, option)
        if raw is not None:
            try:
                data[key] = json.loads(raw)
            except ValueError as exc:
                raise SettingsError({key: [f"Not valid JSON: {exc}"]}) from exc
    return settings_from_dict(data)


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until interrupted; returns the process exit code."""
    args = _parser().parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"Refusing to listen on {args.host!r}: the emulator accepts a well-known demo password and "
            "has no real security, so it only listens on loopback. Pass --allow-remote to override.",
            file=sys.stderr,
        )
        return 2
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"Invalid settings: {exc}", file=sys.stderr)
        return 2
    try:
        sock = bind_socket(settings.host, settings.port)
    except OSError as exc:
        print(f"Cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    settings.port = port
    state = EmulatorState(settings)
    app = create_app(state=state)
    base_url = base_url_for(settings.host, port)
    connection = json.dumps(connection_for(base_url, state.settings))
    print(f"TWIN emulator listening on {base_url}")
    print(f"Admin API: {base_url}/_emulator  (docs: {base_url}/_emulator/docs)")
    print(f"Strict mode: {'on' if state.settings.strict else 'off'}")
    print(f"export AIRFLOW_CONN_TWIN_DEFAULT={_shell_quote(connection)}")
    sys.stdout.flush()
    server = ForegroundServer(uvicorn_config(app, args.log_level, configure_logging=True))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
