"""Raw websocket access to the emulator's Centrifugo endpoint, for exact frames and close codes."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import httpx
import websocket
from emulator_testkit import CHAT_ID

from airflow_provider_twin.emulator import TwinEmulator

UUID_LEN = 36


def ws_url(emulator: TwinEmulator) -> str:
    url: str = emulator.connection["extra"]["centrifugo_url"]
    return url


def start_session(emulator: TwinEmulator, http: httpx.Client | None = None, **body: Any) -> str:
    url = f"{emulator.base_url}/chat/api/v1/chats/{CHAT_ID}/sessions"
    response = (http or httpx).post(url, json=body)
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


class RawSocket:
    """A websocket speaking the JSON protocol by hand, to check exact frames and close codes."""

    def __init__(self, emulator: TwinEmulator, **options: Any) -> None:
        self.ws = websocket.create_connection(ws_url(emulator), timeout=5, **options)
        self.next_id = 0
        self.backlog: list[dict[str, Any]] = []
        self.frames = 0

    def send(self, *commands: dict[str, Any]) -> None:
        self.ws.send("\n".join(json.dumps(command) for command in commands))

    def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        self.send({"id": self.next_id, method: params})
        return self.reply(self.next_id)

    def connect(self, sessions: list[str], **data: Any) -> dict[str, Any]:
        body = {"application": "widget", "settings": {"sessions": sessions}, **data}
        return self.command("connect", {"data": body, "name": "js"})

    def read(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The replies of the next frame; raises ``Closed`` with the code on a close frame."""
        self.ws.settimeout(timeout)
        opcode, data = self.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise Closed(int.from_bytes(data[:2], "big"), data[2:].decode())
        self.frames += 1
        return [json.loads(line) for line in data.decode().split("\n") if line.strip()]

    def reply(self, command_id: int) -> dict[str, Any]:
        while True:
            for reply in self.read():
                if reply.get("id") == command_id:
                    return reply
                self.backlog.append(reply)

    def pushes(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        found = [reply["push"] for reply in self.backlog if "push" in reply]
        self.backlog = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            found.extend(
                reply["push"]
                for reply in self.read(max(0.01, deadline - time.monotonic()))
                if "push" in reply
            )
        return found

    def close_code(self, timeout: float = 5.0) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.read(max(0.01, deadline - time.monotonic()))
        except Closed as closed:
            return closed.code, closed.reason

    def close(self) -> None:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self.ws.close(timeout=1)


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason
