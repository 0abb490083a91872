#!/usr/bin/python3
"""Interop tests: the example programs against `uptls serve pingpong`.

Usage:
    /usr/bin/python3 tests/interop/test_examples.py --uptls PATH --examples DIR [unittest args]

The examples (built from examples/) run against `uptls serve pingpong`:
callback_client and inspect_server; logging_proxy, the library's proxy,
replays seed 002's curl session; smtp_submit sends a message through
`uptls serve smtp` with STARTTLS. Each test starts and stops its own
processes on 127.0.0.1, port 0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uptls_process as up  # noqa: E402
from uptls_process import (  # noqa: E402
    PipeReader, run_async, run_command, start_process, start_uptls_serve, stop_process)

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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--examples", required="--list-classes" not in sys.argv)
    known, rest = parser.parse_known_args()
    EXAMPLES = os.path.abspath(known.examples or ".")
    sys.argv = [sys.argv[0]] + rest
    sys.exit(up.main())
