"""LocalStack's Twisted gateway server, listening on the address GATEWAY_LISTEN names.

LocalStack 4.14's Twisted server ignores the host of an IPv4 GATEWAY_LISTEN entry and listens on 0.0.0.0, so
`GATEWAY_LISTEN=127.0.0.1:4566` still exposes every AWS API (and the approval endpoint) to the network. This
server binds each entry's own address; `0.0.0.0` (as in Docker) still means all interfaces. Selected with
`GATEWAY_SERVER=sandbox-twisted`; everything else (TLS on the same port, the thread pool, shutdown) is
LocalStack's own.

Twisted also drops the connection without a word when a request line is over its 16 KiB line limit (a long
link pasted whole, a forged token); this server answers `414 URI Too Long` first, as API Gateway and CloudFront do
for long URLs, and `431` for an over-long header line.
"""

from __future__ import annotations

from typing import Any

from localstack import config
from localstack.aws.serving.twisted import TLSMultiplexerFactory
from localstack.runtime.server.twisted import TwistedRuntimeServer
from rolo.serving.twisted import HeaderPreservingHTTPChannel, TwistedGateway, _GenericHTTPChannelProtocol
from twisted.internet import endpoints, reactor, ssl

TOO_LONG = {
    True: b"414 URI Too Long", False: b"431 Request Header Fields Too Large",
}


def too_long_response(request_line: bool) -> bytes:
    status = TOO_LONG[request_line]
    body = b'{"message": "%s"}' % status.split(b" ", 1)[1]
    return (b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, len(body), body))


class AnsweringHTTPChannel(HeaderPreservingHTTPChannel):
    """LocalStack's channel, answering an over-long line instead of dropping the connection."""

    @staticmethod
    def protocol_factory() -> Any:
        return _GenericHTTPChannelProtocol(AnsweringHTTPChannel())

    def lineLengthExceeded(self, line: bytes) -> None:  # noqa: N802 (Twisted's name)
        # Nothing of this request was received yet: the line is its request line.
        transport: Any = self.transport
        transport.write(too_long_response(request_line=self._receivedHeaderSize == 0))
        self.loseConnection()


class BoundTwistedRuntimeServer(TwistedRuntimeServer):
    def register(self, gateway: Any, listen: list[config.HostAndPort],
                 ssl_creds: tuple[str, str] | None = None) -> None:
        site = TwistedGateway(gateway)
        site.protocol = AnsweringHTTPChannel.protocol_factory  # type: ignore[method-assign]
        factory: Any = site
        if ssl_creds:
            cert_file, key_file = ssl_creds
            context = ssl.DefaultOpenSSLContextFactory(key_file, cert_file)
            context.getContext().use_certificate_chain_file(cert_file)
            factory = TLSMultiplexerFactory(context, False, site)
        for entry in listen:
            endpoint_type = (endpoints.TCP6ServerEndpoint if config.is_ipv6_address(entry.host)
                             else endpoints.TCP4ServerEndpoint)
            endpoint_type(reactor, entry.port, interface=entry.host or "").listen(factory)
