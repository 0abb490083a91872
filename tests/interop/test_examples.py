#!/usr/bin/python3
"""Interop tests: the example programs against `uptls serve pingpong`.

Usage:
    /usr/bin/python3 tests/interop/test_examples.py --uptls PATH --examples DIR [unittest args]

The examples (built from examples/) run against `uptls serve pingpong`:
callback_client and inspect_server; logging_proxy, the library's proxy,
replays seed 002's curl session; smtp_submit sends a message through
`uptls serve smtp` with STARTTLS; tls_in_tls fetches from Python's
http.server over TLS through `uptls proxy` behind a TLS front. Each test starts and stops its own
processes on 127.0.0.1, port 0.
"""

from __future__ import annotations

import argparse
import http.server
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uptls_process as up  # noqa: E402
from starttls_support import make_pki  # noqa: E402
from uptls_process import (  # noqa: E402
    PipeReader, TlsFront, run_async, run_command, start_process, start_uptls_serve, stop_process)

EXAMPLES = None  # the directory holding the example binaries; from --examples


class Examples(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def callback_client(self, ca, host, port):
        """Runs examples/callback_client; returns (status, stdout, stderr, command)."""
        return run_async(run_command(
            [os.path.join(EXAMPLES, "callback_client"), ca, host, str(port)]), 60)

    def test_callback_client_completes_the_seed_session(self):
        srv = start_uptls_serve(self, self.tmp.name, "--quiet")
        code, out, err, cmd = self.callback_client(srv.ca, srv.host, srv.port)
        self.assertEqual(code, 0, f"{cmd}\n{out}\n{err}")
        self.assertIn("Received: PONG\n", out)
        self.assertIn("Server certificate: CN=localhost", out)
        self.assertIn("Received: PONG (over TLS)", out)
        self.assertIn("Closed", out)

    def test_callback_client_reports_a_refused_connection(self):
        srv = start_uptls_serve(self, self.tmp.name, "--quiet")
        code, out, err, cmd = self.callback_client(srv.ca, srv.host, 1)
        self.assertEqual(code, 1, f"{cmd}\n{out}\n{err}")
        self.assertIn("connect failed", err)

    def test_callback_client_refuses_an_untrusted_server(self):
        srv = start_uptls_serve(self, self.tmp.name, "--quiet")
        other = start_uptls_serve(self, self.tmp.name, "--quiet")
        code, out, err, cmd = self.callback_client(other.ca, srv.host, srv.port)
        self.assertEqual(code, 1, f"{cmd}\n{out}\n{err}")
        self.assertIn("certificate verify failed", err)
        self.assertNotIn("over TLS", out)


    def inspect_server(self, *args):
        """Runs examples/inspect_server; returns (status, stdout, stderr, command)."""
        return run_async(run_command(
            [os.path.join(EXAMPLES, "inspect_server"), *[str(a) for a in args]]), 60)

    def test_inspect_server_reports_session_verdict_and_chain(self):
        srv = start_uptls_serve(self, self.tmp.name, "--quiet", "--implicit-tls")
        code, out, err, cmd = self.inspect_server(srv.ca, srv.host, srv.port, "localhost")
        self.assertEqual(code, 0, f"{cmd}\n{out}\n{err}")
        self.assertIn("protocol TLSv1.3, cipher TLS_", out)
        self.assertIn("verdict: ok: verified for localhost", out)
        self.assertIn("chain: CN=localhost (issuer CN=uptls development CA)", out)
        self.assertIn("offline: verified for localhost", out)

    def test_inspect_server_still_reports_a_server_that_fails_verification(self):
        srv = start_uptls_serve(self, self.tmp.name, "--quiet", "--implicit-tls")
        code, out, err, cmd = self.inspect_server(srv.ca, srv.host, srv.port, "wrong.example")
        self.assertEqual(code, 1, f"{cmd}\n{out}\n{err}")
        self.assertIn("verdict: NOT ok: certificate verify failed: hostname 'wrong.example'", out)
        self.assertIn("protocol TLSv1.3", out, "the session was still inspected")
        self.assertIn("offline: certificate verify failed: hostname 'wrong.example'", out)

    def test_smtp_submit_sends_over_starttls(self):
        ca = os.path.join(self.tmp.name, "smtp-ca.pem")
        server = start_process([up.UPTLS, "serve", "smtp", "--listen", "127.0.0.1:0",
                                "--ca-out", ca])
        out, err = PipeReader(server.stdout), PipeReader(server.stderr)
        try:
            found = out.wait_for(r"^listening on 127\.0\.0\.1:(\d+) ", up.STARTUP_TIMEOUT)
            self.assertIsNotNone(found, err.snapshot())
            done = subprocess.run([os.path.join(EXAMPLES, "smtp_submit"), "localhost",
                                   found[1].group(1), ca, "alice@example.org", "bob@example.org"],
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn("greeting: localhost ESMTP uptls", done.stdout)
            self.assertNotIn("over TLS: STARTTLS", done.stdout)
            self.assertIn("S: 250 2.0.0 Ok: message 1 accepted and discarded", done.stdout)
            self.assertIsNotNone(
                out.wait_for(r"mail from <alice@example.org> to 1 recipient", 20), out.snapshot())
        finally:
            code, killed = stop_process(server, readers=(out, err))
            self.assertFalse(killed)
            self.assertEqual(code, 0, err.snapshot())

    def test_logging_proxy_replays_the_seed_session(self):
        ca = os.path.join(self.tmp.name, "proxy-ca.pem")
        proc = start_process([os.path.join(EXAMPLES, "logging_proxy"), ca, "0", "OK"])
        out, err = PipeReader(proc.stdout), PipeReader(proc.stderr)
        try:
            found = out.wait_for(r"^listening on 127\.0\.0\.1:(\d+)$", up.STARTUP_TIMEOUT)
            self.assertIsNotNone(found, err.snapshot())
            port = found[1].group(1)
            done = subprocess.run(["curl", "-sS", "--verbose", "--proxy", f"http://127.0.0.1:{port}",
                                   "--cacert", ca, "https://dummy.org/"], capture_output=True,
                                  timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stdout, b"OK")
            self.assertIn(b"subject: CN=dummy.org", done.stderr)
            self.assertIsNotNone(out.wait_for(r"^GET https://dummy\.org/ -> 200$", 20),
                                 out.snapshot())
        finally:
            code, killed = stop_process(proc, readers=(out, err))
        self.assertFalse(killed)
        self.assertEqual(code, 0, err.snapshot())

    def test_tls_in_tls_fetches_through_a_tls_proxy(self):
        # The origin: Python's http.server over TLS. The proxy: `uptls proxy`
        # behind a TLS front (Python's ssl). Each has a CA of its own.
        origin_ca, origin_cert, origin_key = make_pki(os.path.join(self.tmp.name, "origin"))
        front_ca, front_cert, front_key = make_pki(os.path.join(self.tmp.name, "front"))
        httpd = http.server.HTTPServer((up.HOST, 0), http.server.SimpleHTTPRequestHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(origin_cert, origin_key)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.server_close)
        self.addCleanup(httpd.shutdown)
        origin_port = httpd.server_address[1]
        proxy = start_process([up.UPTLS, "proxy", "--listen", f"{up.HOST}:0", "--allow-port",
                               str(origin_port)])
        out, err = PipeReader(proxy.stdout), PipeReader(proxy.stderr)
        self.addCleanup(stop_process, proxy, readers=(out, err))
        found = out.wait_for(r"listening on 127\.0\.0\.1:(\d+)", up.STARTUP_TIMEOUT)
        self.assertIsNotNone(found, err.snapshot())
        front = TlsFront(front_cert, front_key, int(found[1].group(1)))
        self.addCleanup(front.close)
        done = subprocess.run([os.path.join(EXAMPLES, "tls_in_tls"), "localhost", str(front.port),
                               front_ca, "localhost", str(origin_port), origin_ca],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("proxy: TLSv1.3", done.stdout)
        self.assertIn("tunnel: HTTP/1.1 200", done.stdout)
        self.assertIn("origin: TLSv1.3, certificate CN=localhost", done.stdout)
        self.assertIn("HTTP/1.0 200 OK", done.stdout)
        # The origin's handshake went inside the proxy's TLS, not beside it.
        self.assertTrue(bytes(front.from_client).startswith(b"CONNECT localhost:"))
        self.assertIn(b"\r\n\r\n\x16\x03", bytes(front.from_client))
        # The origin's CA does not vouch for the proxy.
        wrong = subprocess.run([os.path.join(EXAMPLES, "tls_in_tls"), "localhost", str(front.port),
                                origin_ca, "localhost", str(origin_port), origin_ca],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(wrong.returncode, 1, wrong.stdout)
        self.assertIn("certificate", wrong.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--examples", required="--list-classes" not in sys.argv)
    known, rest = parser.parse_known_args()
    EXAMPLES = os.path.abspath(known.examples or ".")
    sys.argv = [sys.argv[0]] + rest
    sys.exit(up.main())
