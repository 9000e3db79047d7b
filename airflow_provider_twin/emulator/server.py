"""Running the emulator: an in-process server in a background thread, and socket/uvicorn plumbing.

:class:`TwinEmulator` starts uvicorn on a loopback port (a free one by default), waits until it
answers, and stops it again. It can be restarted on the same port with the same state, which is how
tests simulate "the TWIN service went away and came back".
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from types import FrameType, TracebackType
from typing import Any

import httpx
import uvicorn

from .admin_client import EmulatorAdmin
from .app import create_app
from .loopback import is_loopback
from .middleware import install_drop_log_filter
from .settings import EmulatorSettings
from .state import EmulatorState


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on a TCP socket (port 0 = a free port); reusable right after a previous server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        # Listen at once: clients that connect before the server loop runs wait instead of failing.
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def base_url_for(host: str, port: int) -> str:
    """``http://host:port`` with IPv6 hosts bracketed."""
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{shown}:{port}"


def connection_for(base_url: str, settings: EmulatorSettings) -> dict[str, Any]:
    """The Airflow connection (``conn_type`` ``twin``) that points a TWIN hook at this emulator."""
    account = settings.accounts[0]
    websocket_base = "ws://" + base_url.removeprefix("http://")
    return {
        "conn_type": "twin",
        "login": account.email,
        "password": account.password,
        "extra": {
            "company_id": account.company_id,
            "iam_url": f"{base_url}/iam/api/v1",
            "notify_url": f"{base_url}/notify/api/v1",
            "chat_url": f"{base_url}/chat/api/v1",
            "centrifugo_url": f"{websocket_base}/centrifugo/connection/websocket",
        },
    }


def uvicorn_config(
    app: Any, log_level: str = "warning", *, configure_logging: bool = False
) -> uvicorn.Config:
    """uvicorn settings used by the emulator (no access log, no lifespan, quick shutdown).

    With ``configure_logging`` False the process-wide logging setup is left alone, which is what an
    in-process server inside a test run wants.
    """
    kwargs: dict[str, Any] = {}
    if not configure_logging:
        kwargs["log_config"] = None
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        server_header=False,
        **kwargs,
    )
    install_drop_log_filter()
    return config


class ForegroundServer(uvicorn.Server):
    """uvicorn server for the command line: SIGINT/SIGTERM stop it gracefully with exit status 0.

    (Plain uvicorn re-raises the signal after shutting down, so the process would end "killed".)
    A second signal skips the graceful wait.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._request_stop) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


class TwinEmulator:
    """A TWIN emulator served by uvicorn in a background thread.

    Usage::

        with TwinEmulator(EmulatorSettings(delivery_seconds=0.2)) as emu:
            httpx.post(f"{emu.base_url}/iam/api/v1/auth/login", json={...})
            emu.admin.counters()

    ``state`` gives direct in-process access to the stores (hold ``state.lock`` while touching them).
    """

    def __init__(self, settings: EmulatorSettings | None = None, *, log_level: str = "warning") -> None:
        self.state = EmulatorState(settings)
        self.app = create_app(state=self.state)
        self.initial_settings = self.state.settings.copy()
        self.log_level = log_level
        self.host = self.state.settings.host
        self._port = self.state.settings.port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._admin: EmulatorAdmin | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 15.0) -> TwinEmulator:
        """Start serving (same port as before after a :meth:`stop`) and wait until requests succeed."""
        if self.running:
            return self
        sock = bind_socket(self.host, self._port)
        self._port = sock.getsockname()[1]
        with self.state.lock:
            self.state.settings = replace(self.state.settings, port=self._port)
        self.initial_settings = replace(self.initial_settings, port=self._port)
        server = uvicorn.Server(uvicorn_config(self.app, self.log_level))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"twin-emulator-{self._port}", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise RuntimeError("The TWIN emulator failed to start; see the log for the reason.")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"The TWIN emulator did not start within {timeout} s.")
            time.sleep(0.005)
        self._wait_until_serving(deadline)
        return self

    def _wait_until_serving(self, deadline: float) -> None:
        url = f"{self.base_url}/_emulator/health"
        while True:
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("The TWIN emulator does not answer health checks.")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; the state is kept so :meth:`start` resumes where it left off."""
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
        if self._admin is not None:
            self._admin.close()
        self._server = self._thread = self._socket = self._admin = None

    def __enter__(self) -> TwinEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port (known after the first :meth:`start`)."""
        if self._port == 0:
            raise RuntimeError("The port is chosen when the emulator starts; call start() first.")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return base_url_for(self.host, self.port)

    @property
    def connection(self) -> dict[str, Any]:
        """Airflow connection fields for the TWIN hook (see the docs for the exact shape)."""
        return connection_for(self.base_url, self.state.settings)

    @property
    def connection_json(self) -> str:
        """:attr:`connection` as JSON, ready for ``AIRFLOW_CONN_TWIN_DEFAULT``."""
        return json.dumps(self.connection)

    @property
    def admin(self) -> EmulatorAdmin:
        """A synchronous client of the admin API (recreated after a restart)."""
        if self._admin is None:
            self._admin = EmulatorAdmin(self.base_url)
        return self._admin

    # -- state ---------------------------------------------------------------------------------------
    def reset(self, *, restore_settings: bool = False) -> None:
        """Forget messages, sessions, counters and faults (optionally restore the start-up settings)."""
        if restore_settings:
            self.state.replace_settings(self.initial_settings.copy())
        self.state.reset()


__all__ = [
    "EmulatorState",
    "ForegroundServer",
    "TwinEmulator",
    "base_url_for",
    "bind_socket",
    "connection_for",
    "is_loopback",
    "uvicorn_config",
]
