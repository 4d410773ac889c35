"""Read deadlines for HTTP requests: a client must send its headers, then its body, in time.

Why this exists (issue 9.5): uvicorn has a keep-alive timeout (idle time *between* requests)
and a size cap on an unfinished request, but no time limit on one: 2,000 connections that sent
half a header were held for as long as the attacker liked, each a file descriptor and a slot
the hall's screens and kiosks need. uvicorn takes an `http=` protocol class, so this is its own
httptools protocol with two timers:

* header deadline: armed when a connection opens and when a next request on a kept-alive
  connection begins; disarmed once the headers are complete;
* body deadline: armed then, until the body is complete.

On expiry, a request the app has not answered gets `408` (in the error shape, Chinese) and the
connection is closed; an app already waiting for the body sees a disconnect
(`hall.api.read_json` answers it 400, nothing logged as a server fault). WebSocket upgrades
disarm both: the WebSocket protocol has its own pings.
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TIMEOUT_BODY = json.dumps({"error": {"code": "request_timeout",
                                     "message": "请求发送超时，请重试"}},
                          ensure_ascii=False).encode("utf-8")
TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                    b"content-length: " + str(len(TIMEOUT_BODY)).encode() + b"\r\n"
                    b"connection: close\r\n\r\n" + TIMEOUT_BODY)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines (see the module's doc)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    _deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.header_timeout)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._arm(self.body_timeout)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()


def deadline_protocol(header_timeout: float, body_timeout: float) -> type[DeadlineProtocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with the hall's deadlines."""
    return type("HallHttpProtocol", (DeadlineProtocol,),
                {"header_timeout": header_timeout, "body_timeout": body_timeout})
