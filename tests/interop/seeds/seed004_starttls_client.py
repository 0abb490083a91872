#!/usr/bin/python3
"""Seed 004's Twisted starttls_client (../shared/seeds/004), for Python 3.

The seed's StartTLSClient as published, ported to Python 3 (lines are
bytes): it sends "plain text" and STARTTLS, waits for READY, calls
startTLS, sends "secure text" and closes. It verifies the server for
"localhost" against CA_PEM instead of trusting the seed's own server.pem.
Usage: seed004_starttls_client.py PORT CA_PEM [crlf]. Lines end with LF, as
the seed protocol's do; with "crlf", with LineReceiver's own CRLF, as the
seed has it. Prints each line received and "secure text sent"; exits 0
when the connection ends after that.
"""

import sys

from twisted.internet import defer, endpoints, protocol, ssl, task
from twisted.protocols.basic import LineReceiver


class StartTLSClient(LineReceiver):
    delimiter = b"\n"
    sent_secure = False

    def connectionMade(self):
        self.sendLine(b"plain text")
        self.sendLine(b"STARTTLS")

    def lineReceived(self, line):
        print("received: " + line.decode("utf-8", "replace"), flush=True)
        if line.rstrip(b"\r") == b"READY":
            self.transport.startTLS(self.factory.options)
            self.sendLine(b"secure text")
            self.sent_secure = True
            print("secure text sent", flush=True)
            self.transport.loseConnection()


@defer.inlineCallbacks
def main(reactor, port, ca_pem, ends="lf"):
    if ends == "crlf":
        StartTLSClient.delimiter = b"\r\n"
    factory = protocol.Factory.forProtocol(StartTLSClient)
    with open(ca_pem, "rb") as f:
        authority = ssl.Certificate.loadPEM(f.read())
    factory.options = ssl.optionsForClientTLS("localhost", authority)
    endpoint = endpoints.HostnameEndpoint(reactor, "127.0.0.1", int(port))
    client = yield endpoint.connect(factory)
    done = defer.Deferred()
    client.connectionLost = lambda reason: done.callback(reason.getErrorMessage())
    reason = yield done
    print(f"connection lost: {reason}", flush=True)
    if not client.sent_secure:
        raise SystemExit(1)


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
