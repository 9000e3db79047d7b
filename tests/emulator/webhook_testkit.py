"""A webhook receiver on loopback for the emulator's status webhooks: it records what arrives and
answers what the test scripts (statuses to answer in turn, a delay)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers 200 ``"ok"`` unless told
    otherwise: ``answers`` are used up one per request (then 200), ``delay`` holds every answer."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        {
                            "path": self.path,
                            "content_type": self.headers.get("Content-Type"),
                            "body": json.loads(raw),
                        }
                    )
                    status = receiver.answers.pop(0) if receiver.answers else 200
                if receiver.delay:
                    time.sleep(receiver.delay)
                payload = b'"ok"'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the emulator gave up waiting (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [item["body"] for item in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
