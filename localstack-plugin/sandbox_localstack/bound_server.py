"""LocalStack's Twisted gateway server, listening on the address GATEWAY_LISTEN names.

LocalStack 4.14's Twisted server ignores the host of an IPv4 GATEWAY_LISTEN entry and listens on 0.0.0.0, so
`GATEWAY_LISTEN=127.0.0.1:4566` still exposes every AWS API (and the approval endpoint) to the network. This
server binds each entry's own address; `0.0.0.0` (as in Docker) still means all interfaces. Selected with
`GATEWAY_SERVER=sandbox-twisted`; everything else (TLS on the same port, the thread pool, shutdown) is
LocalStack's own.
"""

from __future__ import annotations

from typing import Any

from localstack import config
from localstack.aws.serving.twisted import TLSMultiplexerFactory
from localstack.runtime.server.twisted import TwistedRuntimeServer
from rolo.serving.twisted import TwistedGateway
from twisted.internet import endpoints, reactor, ssl


class BoundTwistedRuntimeServer(TwistedRuntimeServer):
    def register(self, gateway: Any, listen: list[config.HostAndPort],
                 ssl_creds: tuple[str, str] | None = None) -> None:
        site = TwistedGateway(gateway)
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
