#!/usr/bin/python3
"""Interop tests: uptls against the seeds' own servers and clients, unmodified.

Usage:
    /usr/bin/python3 tests/interop/test_seed_servers.py --uptls PATH [unittest args]

* Seed 000's asyncio server (tests/interop/seeds/seed000_server.py: the
  published handle_client, with no workaround for CPython 3.11's start_tls
  losing bytes read together with the STARTTLS line) against
  `uptls client pingpong`: 30 sessions in a row and 20 at once, as reliable
  as the seed's own client.
* Seed 004's Twisted starttls_server (answers STARTTLS with READY) against
  `uptls client pingpong`, unchanged: upgraded on READY.
* Seed 004's Twisted starttls_client against
  `uptls serve pingpong --starttls-reply READY`.

Each test starts its peers on 127.0.0.1 with port 0 and stops them by PID.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # keep tests/interop free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_peers as sp  # noqa: E402
import uptls_process as up  # noqa: E402
from uptls_process import (  # noqa: E402
    HOST, STEP_TIMEOUT, PipeReader, run_async, run_command, start_process,
    start_uptls_serve, stop_process)

SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
PYTHON = "/usr/bin/python3"


def twisted_available():
    try:
        import twisted  # noqa: F401
        return True
    except ImportError:
        return False


class SeedServers(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="uptls-seeds-")
        self.addCleanup(self.tmp.cleanup)
        self.pki = sp.make_openssl_pki(self.tmp.name)

    def start_peer(self, *cmd):
        """Start a seed program; returns its port once it says it listens."""
        proc = start_process([PYTHON, "-u", *cmd])
        out, err = PipeReader(proc.stdout), PipeReader(proc.stderr)
        self.addCleanup(stop_process, proc, readers=(out, err))
        found = out.wait_for(r"^listening on 127\.0\.0\.1:(\d+)$", up.STARTUP_TIMEOUT)
        if found is None:
            self.fail(f"{' '.join(cmd)} did not start\nstdout:\n{out.snapshot()}"
                      f"stderr:\n{err.snapshot()}")
        self.peer_output = out
        return int(found[1].group(1))

    def uptls_client(self, port, *extra):
        return [up.UPTLS, "client", "pingpong", f"{HOST}:{port}", "--cafile",
                self.pki["ca_cert"], "--servername", "localhost", *extra]

    def check_clients(self, port, sessions, concurrent):
        async def one(i):
            rc, out, err, cmd = await run_command(self.uptls_client(port))
            return None if rc == 0 and "Client disconnected" in out else (
                f"session {i + 1}: exit {rc}\n{out}{err}")

        async def body():
            failures = []
            for start in range(0, sessions, concurrent):
                batch = range(start, min(sessions, start + concurrent))
                results = await asyncio.gather(*(one(i) for i in batch))
                failures += [r for r in results if r is not None]
            return failures

        failures = run_async(body(), 600)
        self.assertEqual(failures, [], f"{len(failures)}/{sessions} sessions failed; first:\n"
                         + "\n".join(failures[:2]))

    # -- seed 000: asyncio, StreamWriter.start_tls, nothing sent after STARTTLS

    def seed000_server(self):
        return self.start_peer(os.path.join(SEEDS, "seed000_server.py"), HOST, "0",
                               self.pki["cert"], self.pki["key"], self.pki["ca_cert"])

    def test_uptls_client_against_unmodified_seed000_server_30_in_a_row(self):
        self.check_clients(self.seed000_server(), 30, 1)

    def test_uptls_client_against_unmodified_seed000_server_20_at_once(self):
        self.check_clients(self.seed000_server(), 20, 20)

    # -- seed 004: Twisted, READY after STARTTLS ------------------------------

    @unittest.skipUnless(twisted_available(), up.missing_peer("python3-twisted"))
    def test_uptls_client_upgrades_on_ready_from_twisted_server(self):
        pem = os.path.join(self.tmp.name, "server.pem")
        with open(pem, "w") as out:
            for part in (self.pki["key"], self.pki["cert"]):
                with open(part) as f:
                    out.write(f.read())
        port = self.start_peer(os.path.join(SEEDS, "seed004_starttls_server.py"), "0", pem)
        rc, out, err, cmd = run_async(run_command(self.uptls_client(port)), 120)
        self.assertEqual(rc, 0, f"{cmd}\n{out}{err}")
        self.assertIn("Received: READY\nUpgrading the connection to TLS", out)
        self.assertIn("Received: PONG\nSending QUIT", out)
        self.assertIsNotNone(self.peer_output.wait_for(r"^-- Switching to TLS$", STEP_TIMEOUT))
        self.check_clients(port, 10, 5)

    @unittest.skipUnless(twisted_available(), up.missing_peer("python3-twisted"))
    def test_twisted_client_against_uptls_serve_with_starttls_reply(self):
        srv = start_uptls_serve(self, self.tmp.name, "--starttls-reply", "READY")
        rc, out, err, cmd = run_async(run_command(
            [PYTHON, os.path.join(SEEDS, "seed004_starttls_client.py"), str(srv.port),
             srv.ca], timeout=60), 120)
        self.assertEqual(rc, 0, f"{cmd}\n{out}{err}\n" + srv.describe_running())
        self.assertIn("received: READY", out)
        self.assertIn("connection lost: Connection was closed cleanly.", out)
        found = srv.stdout.wait_for(r"^Read 'secure text'$", STEP_TIMEOUT)
        self.assertIsNotNone(found, "the line sent after READY arrived over TLS\n"
                             + srv.describe_running())
        log = srv.stdout.snapshot()
        self.assertLess(log.index("Sending READY"), log.index("Upgrading connection to TLS"))
        self.assertLess(log.index("TLS TLSv1."), log.index("Read 'secure text'"))

    def test_uptls_client_rejects_another_reply_to_starttls(self):
        """A server that answers STARTTLS with something else than READY is
        an error naming what it said, not a handshake."""
        srv = start_uptls_serve(self, self.tmp.name, "--starttls-reply", "NO WAY")
        rc, out, err, cmd = run_async(run_command(
            [up.UPTLS, "client", "pingpong", f"{HOST}:{srv.port}", "--cafile", srv.ca,
             "--servername", "localhost"]), 120)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("the server answered STARTTLS with 'NO WAY'", err)


if __name__ == "__main__":
    sys.exit(up.main())
