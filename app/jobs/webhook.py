"""A small local webhook receiver: the service POSTs a finished job's body here.

Deliberately minimal (one POST route, a body cap, no keep-alive): it only has to accept
the JSON the service sends and hand it on. Bodies are parsed by the same parser as
polls, so a webhook can never do more than a poll could.

Any local process can reach the port, so the route is secret: a random token as the last
path segment, told only to the service (in each job's webhook URL) and compared in
constant time. A request without it is answered 404 and its body is never read.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
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
        self.secret = secrets.token_urlsafe(24)
        self._server: asyncio.Server | None = None
        self.received = 0
        self.refused = 0

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}/{self.secret}"

    def public_url(self, base: str | None) -> str:
        """The URL to give the service: ``base`` (a public URL that forwards here) or
        the listen address, with the secret as its last path segment."""
        return f"{base.rstrip('/')}/{self.secret}" if base else self.address

    def _authorised(self, target: str) -> bool:
        last = target.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return hmac.compare_digest(last.encode("latin-1"), self.secret.encode())

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
            method, _, rest = lines[0].partition(" ")
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if ":" in line)
            }
            length = int(headers.get("content-length", "0"))
            if not self._authorised(rest.rpartition(" ")[0]):
                status = "404 Not Found"
                self.refused += 1
                log.warning("refused a webhook call without the secret path")
            elif method != "POST":
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
        except (ValueError, UnicodeDecodeError, RecursionError):
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
