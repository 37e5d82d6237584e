"""Mutual TLS for the gateway server (art. 19; SPEC §5).

uvicorn verifies client certificates in the handshake but does not hand the verified certificate to
the application. `PeerCertHttpToolsProtocol` (and its pure-Python twin `PeerCertH11Protocol`) closes
that gap: when a connection is made it reads the peer
certificate from the TLS object and exposes it in every request scope of that connection under the
ASGI TLS extension (`scope["extensions"]["tls"]["client_cert_chain"]`), plus the DER bytes under
`"meerpunt.peer_der"` so the app does not re-encode PEM. The certificate comes from the TLS layer
itself, never from a header, so a client cannot claim another partner's identity.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import weakref
from typing import TYPE_CHECKING, Any, cast

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gateway.problems import PROBLEM_BASE, PROBLEM_JSON
from gateway.settings import Settings

ASGIApp = Any

#: After SIGTERM, how long a closed connection may take to answer our TLS close_notify with its
#: own before its socket is closed without it (issue 18).
CLOSE_NOTIFY_WAIT_SECONDS = 0.5
#: How often a draining connection checks whether its last bytes have left.
_DRAIN_POLL_SECONDS = 0.05
#: A connection whose TLS handshake completed after shutdown began: how long its client may take
#: to send a request before the connection is closed unanswered. A client sends its request as
#: soon as its handshake is done; this only bounds one that sends nothing.
LATE_REQUEST_WAIT_SECONDS = 1.0


def build_server_ssl_context(settings: Settings) -> ssl.SSLContext:
    """TLS 1.2+ server context that verifies client certificates against the configured anchors."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(settings.tls_cert_file), str(settings.tls_key_file))
    context.load_verify_locations(cafile=str(settings.ca_file))
    context.verify_mode = ssl.CERT_REQUIRED if settings.tls_client_auth == "required" else ssl.CERT_OPTIONAL
    # Forward secrecy and AEAD only for TLS 1.2 (TLS 1.3 suites are always strong).
    context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
    context.options |= ssl.OP_NO_COMPRESSION
    return context


def build_client_ssl_context(
    ca_file: str, cert_file: str | None = None, key_file: str | None = None
) -> ssl.SSLContext:
    """Client context for the gateway's own calls (push delivery) and for tests and tools."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    return context


def _peer_der(transport: asyncio.BaseTransport) -> bytes | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der: bytes | None = ssl_object.getpeercert(binary_form=True)
    return der


async def _with_peer(app: ASGIApp, tls: dict[str, Any], scope: Any, receive: Any, send: Any) -> None:
    extensions = scope.setdefault("extensions", {})
    extensions["tls"] = tls
    await app(scope, receive, send)


class _PeerCertMixin:
    """Wraps the connection's app so that every request scope carries the verified peer certificate."""

    app: Any

    def _expose_peer_certificate(self, transport: asyncio.Transport) -> None:
        der = _peer_der(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        tls: dict[str, Any] = {
            "server_cert": None,
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": None,
            "cipher_suite": None,
            "meerpunt.peer_der": der,
            "meerpunt.tls_protocol": ssl_object.version() if ssl_object is not None else None,
        }
        # `self.app` is the server-wide app; each connection gets its own wrapper around it.
        self.app = functools.partial(_with_peer, self.app, tls)


class _DrainMixin:
    """Graceful shutdown that does not wait on clients idling in their connection pool (issue 18).

    On SIGTERM uvicorn calls `shutdown()` on every connection: an idle one is closed at once, a busy
    one gets `Connection: close` on its current response and is closed after it. uvicorn then
    waits until every connection is gone. But closing a TLS connection means sending close_notify
    and waiting for the client's close_notify (up to the event loop's `ssl_shutdown_timeout`, 30 s)
    before the socket is closed, and a keep-alive client idling in its pool reads nothing, so it
    never answers: every idle partner held the process for 30 s, past Kubernetes' grace period.

    TLS does not require waiting for the peer's close_notify (RFC 8446 §6.1). So once shutdown
    has begun, a connection that is closing and has handed all its bytes (the whole response and
    our close_notify) to the socket gets `CLOSE_NOTIFY_WAIT_SECONDS` for the client's answer, and
    is then closed. `abort()` drops only what is still buffered in user space, which is nothing
    by then; the kernel still delivers what it holds, then FIN. A response still being written to a
    slow client keeps its connection until it is out (or the grace period ends).
    """

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    connections: set[Any]
    _drain_deadline: float | None = None

    def _drain(self) -> None:
        if self not in self.connections:
            return  # already gone
        transport = self.transport
        if not transport.is_closing():
            return  # still answering a request; `on_response_complete` calls again
        now = self.loop.time()
        if self._drain_deadline is None:
            self._drain_deadline = now + CLOSE_NOTIFY_WAIT_SECONDS
        if now >= self._drain_deadline and transport.get_write_buffer_size() == 0:
            transport.abort()
            return
        self.loop.call_later(_DRAIN_POLL_SECONDS, self._drain)


class _ShutdownWatch:
    """Tells connections that arrive late that their server's shutdown has begun.

    uvicorn's `Server.shutdown` stops accepting, then calls `shutdown()` once on every connection
    in `server_state.connections`. A connection joins that set in `connection_made`, which over TLS
    comes only when the handshake has completed: a connection accepted just before shutdown whose
    handshake ended just after it was never told, and was served with keep-alive until the grace
    period ran out. uvicorn keeps no "shutting down" state a connection could read, so one watch
    per server sits in that set and is told like a connection; it then leaves the set, so uvicorn
    does not wait on it. (It counts as a connection for uvicorn's `limit_concurrency`, which
    `serve` does not set.)
    """

    def __init__(self, connections: set[Any]) -> None:
        self.connections = connections
        self.begun = False
        connections.add(self)

    def shutdown(self) -> None:
        """Called by uvicorn's `Server.shutdown`, as on every connection."""
        self.begun = True
        self.connections.discard(self)


#: One watch per uvicorn server (its `ServerState`), for as long as the server exists.
_watches: weakref.WeakKeyDictionary[ServerState, _ShutdownWatch] = weakref.WeakKeyDictionary()


def _shutdown_watch(server_state: ServerState) -> _ShutdownWatch:
    """The server's watch, made along with the protocol of its first accepted connection: before
    any handshake can be under way, so before any connection can arrive late. (On uvloop, which
    `serve` uses, nothing is accepted once the listener is closed. On asyncio's own loop the very
    first connection of a server could be accepted just after: its watch would join the set too
    late to be told, and uvicorn would wait on it until the grace period ran out.)"""
    watch = _watches.get(server_state)
    if watch is None:
        watch = _watches[server_state] = _ShutdownWatch(server_state.connections)
    return watch


def malformed_request_response(message: str) -> bytes:
    """The 400 uvicorn sends when it cannot parse a request at all (a bad request line, a path
    with bytes HTTP does not allow), as problem+json like every other error: the API's clients
    handle one error format (SPEC §6), even for requests that never reached the application."""
    from gateway.openapi import API_VERSION

    body = json.dumps(
        {
            "type": PROBLEM_BASE + "malformed-request",
            "title": "Malformed HTTP request",
            "status": 400,
            "detail": f"The request could not be parsed: {message}",
        }
    ).encode("utf-8")
    return b"".join(
        [
            b"HTTP/1.1 400 Bad Request\r\n",
            b"content-type: " + PROBLEM_JSON.encode("ascii") + b"\r\n",
            b"api-version: " + API_VERSION.encode("ascii") + b"\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


if TYPE_CHECKING:

    class _UvicornProtocol:
        """What the mixin's super() offers: the methods both uvicorn HTTP protocols have."""

        server_state: ServerState
        cycle: Any  # the request-response cycle under way or last, None before the first request

        def __init__(self, *args: Any, **kwargs: Any) -> None: ...
        def connection_made(self, transport: asyncio.BaseTransport) -> None: ...
        def data_received(self, data: bytes) -> None: ...
        def shutdown(self) -> None: ...
        def on_response_complete(self) -> None: ...
        def send_400_response(self, msg: str) -> None: ...

else:
    _UvicornProtocol = object


class _GatewayProtocol(_PeerCertMixin, _DrainMixin, _UvicornProtocol):
    """What the gateway adds to either uvicorn protocol: the verified peer certificate in every
    request scope, the draining shutdown (also of connections whose handshake completed after it
    began), and problem+json for requests uvicorn cannot parse."""

    _shutting_down = False
    #: Set while a connection that arrived after shutdown began waits for its request.
    _late_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn makes the protocol when it accepts the connection, before the TLS handshake.
        self._watch = _shutdown_watch(self.server_state)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._expose_peer_certificate(cast(asyncio.Transport, transport))  # a stream server's
        if self._watch.begun:
            # The handshake completed after shutdown began: uvicorn will not tell this connection
            # to close. Its client is about to send a request; answer that one, then close.
            self._late_timer = self.loop.call_later(LATE_REQUEST_WAIT_SECONDS, self._shutdown_late)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._late_timer is not None and self.cycle is not None:
            self._shutdown_late()  # its request has begun: answered with `Connection: close`

    def _shutdown_late(self) -> None:
        """Shut a late connection down as uvicorn does the others: after the request under way,
        if any, else at once (the client sent none within `LATE_REQUEST_WAIT_SECONDS`)."""
        if self._late_timer is None:
            return
        self._late_timer.cancel()
        self._late_timer = None
        if self in self.connections:  # not already gone
            self.shutdown()

    def shutdown(self) -> None:
        super().shutdown()
        self._shutting_down = True
        self._drain()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._shutting_down:
            self._drain()

    def send_400_response(self, msg: str) -> None:
        self.transport.write(malformed_request_response(msg))
        self.transport.close()


class PeerCertH11Protocol(_GatewayProtocol, H11Protocol):
    """uvicorn's h11 protocol (pure Python) with the gateway's additions."""


class PeerCertHttpToolsProtocol(_GatewayProtocol, HttpToolsProtocol):
    """uvicorn's httptools protocol (the C parser of Node.js) with the gateway's additions.

    The default: on the disclosure path h11's pure-Python parsing was one of the largest costs per
    request (bench/README.md).
    """


#: The protocol `serve` uses.
PeerCertProtocol = PeerCertHttpToolsProtocol
