#!/usr/bin/python3
"""Seed 004's Twisted starttls_server (../shared/seeds/004), for Python 3.

The seed's TLSServer as published, ported to Python 3 (lines are bytes),
speaking the seed protocol's LF lines (delimiter b"\\n") and answering PING
with PONG and QUIT by closing, so that the seed 000 client dialogue runs
against it: STARTTLS is answered with READY, then startTLS, exactly as the
seed does. Usage: seed004_starttls_server.py PORT SERVER_PEM (key and
certificate in one file, as the seed's server.pem); prints
"listening on 127.0.0.1:PORT" once listening.
"""

import sys

from twisted.internet import defer, endpoints, protocol, ssl, task
from twisted.protocols.basic import LineReceiver


class TLSServer(LineReceiver):
    delimiter = b"\n"

    def lineReceived(self, line):
        line = line.rstrip(b"\r")
        print("received: " + line.decode("utf-8", "replace"), flush=True)
        if line == b"PING":
            self.sendLine(b"PONG")
        elif line == b"QUIT":
            self.transport.loseConnection()
        elif line == b"STARTTLS":
            print("-- Switching to TLS", flush=True)
            self.sendLine(b"READY")
            self.transport.startTLS(self.factory.options)


def main(reactor, port, pem):
    with open(pem, "rb") as f:
        cert = ssl.PrivateCertificate.loadPEM(f.read())
    factory = protocol.Factory.forProtocol(TLSServer)
    factory.options = cert.options()
    endpoint = endpoints.TCP4ServerEndpoint(reactor, int(port), interface="127.0.0.1")
    listening = endpoint.listen(factory)
    listening.addCallback(
        lambda p: print(f"listening on 127.0.0.1:{p.getHost().port}", flush=True))
    return listening.addCallback(lambda _: defer.Deferred())


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
