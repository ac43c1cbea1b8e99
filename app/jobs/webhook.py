"""A small local webhook receiver: the service POSTs a finished job's body here.

Deliberately minimal (one POST route, a body cap, no keep-alive): it only has to accept
the JSON the service sends and hand it on. Bodies are parsed by the same parser as
polls, so a webhook can never do more than a poll could.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
_READ_TIMEOUT = 10.0


class WebhookReceiver:
    def __init__(self, host: str, port: int, on_body: Callable[[Any], object]) -> None:
        self.host = host
        self.port = port
        self.on_body = on_body
        self._server: asyncio.Server | None = None
        self.received = 0

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        status = "400 Bad Request"
        try:
            async with asyncio.timeout(_READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method = lines[0].split(" ", 1)[0]
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if ":" in line)
            }
            length = int(headers.get("content-length", "0"))
            if method != "POST":
                status = "405 Method Not Allowed"
            elif not 0 < length <= MAX_BODY:
                status = "413 Payload Too Large" if length > MAX_BODY else status
            else:
                async with asyncio.timeout(_READ_TIMEOUT):
                    body = await reader.readexactly(length)
                self.on_body(json.loads(body))
                self.received += 1
                status = "200 OK"
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        except (ValueError, UnicodeDecodeError):
            status = "400 Bad Request"
        except Exception:  # a bad body must never take the receiver down
            log.exception("webhook body could not be handled")
            status = "500 Internal Server Error"
        with contextlib.suppress(ConnectionError):
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
