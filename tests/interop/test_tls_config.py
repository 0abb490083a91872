#!/usr/bin/python3
"""Interop tests of the TLS configuration options of `uptls ... pingpong`.

Usage:
    /usr/bin/python3 tests/interop/test_tls_config.py --uptls PATH [unittest args]

Peers: the openssl command line (s_client), curl, and CPython's ssl module.
Certificates are made with the openssl command line (ECDSA P-256, tls_pki.py).  Every
process listens on or connects to 127.0.0.1 only, every wait is bounded, and
every child is stopped by the test that started it (SIGTERM to its own PID,
SIGKILL after a timeout).  Standard library only.

What is checked (see each test's docstring):
  client authentication required / requested, ALPN, protocol versions and
  ciphers, SNI identities, session resumption, `uptls client` against a
  Python ssl server (client certificate, ALPN), curl, key logs, SIGHUP reload,
  a few more identity and client options, and OCSP stapling (s_client -status).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import ssl
import subprocess
import sys
import time
import unittest
from unittest import mock

sys.dont_write_bytecode = True  # keep tests/interop free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_peers as sp  # noqa: E402
import uptls_process as up  # noqa: E402
from uptls_process import (  # noqa: E402
    HOST, STEP_TIMEOUT, PipeReader, start_process, start_uptls_serve, stop_process)
from tls_pki import (  # noqa: E402
    _PEM_CERT_RE, PkiTestCase, cert_der, file_cert_der, make_ocsp_response, openssl, run_uptls)

SERVER_LINE_TIMEOUT = 10.0   # a per-connection line of `uptls serve` after the fact
CURL_MAX_TIME = 3            # curl --max-time
RELOAD_TIMEOUT = 15.0        # SIGHUP -> new connections get the new certificate


# --------------------------------------------------------------------------
# openssl s_client sessions
# --------------------------------------------------------------------------

# s_client writes the server's data with write(2) but its own text through a
# stdio buffer that it flushes at whole-buffer boundaries: a ticket's dump can
# be cut anywhere and "PONG\n" land in the middle of it.  The data is one
# write, so it always ends a line; s_client's own text (hex, base64, words)
# never ends in PONG.
_PONG_RE = r"PONG$"


class SClient:
    """An `openssl s_client` child connected to 127.0.0.1:PORT.

    Full (not -quiet / -brief) output, so stdout has the session summary
    ("New, TLSv1.3, Cipher is ...", "Reused, ...", "ALPN protocol: h2",
    "subject=CN = localhost", the server certificate PEM) besides the server's
    data; -nocommands so that "QUIT" is sent rather than taken as the Q
    command.  Registers its stop as a cleanup of `testcase`.
    """

    def __init__(self, testcase, port, *args, cafile, verify_hostname="localhost"):
        self.cmd = ["openssl", "s_client", "-connect", f"{HOST}:{port}",
                    "-CAfile", cafile, "-verify_return_error",
                    "-verify_hostname", verify_hostname, "-nocommands", *args]
        self.proc = start_process(self.cmd, stdin=subprocess.PIPE)
        self.out = PipeReader(self.proc.stdout)
        self.err = PipeReader(self.proc.stderr)
        self._next = 0       # stdout index after the last PONG seen
        self.got_pong = False
        self.rc = None
        testcase.addCleanup(self.stop)

    def stop(self):
        stop_process(self.proc, 5, (self.out, self.err))

    def send(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def ping(self, timeout=STEP_TIMEOUT):
        """Send PING; True if PONG follows within `timeout`."""
        if not self.send(b"PING\n"):
            return False
        hit = self.out.wait_for(_PONG_RE, timeout, self._next)
        if hit is None:
            return False
        self._next = hit[0] + 1
        return True

    def quit(self, timeout=STEP_TIMEOUT):
        """Send QUIT: the server closes, so s_client exits.  Its status, None if it hung."""
        self.send(b"QUIT\n")
        return self._wait_and_stop(timeout)

    def finish(self, timeout=STEP_TIMEOUT):
        """Close s_client's stdin (it then ends the session) and wait for it."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        return self._wait_and_stop(timeout)

    def _wait_and_stop(self, timeout):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.rc = None
        self.stop()
        return self.rc

    def stdout(self):
        return self.out.snapshot()

    def stderr(self):
        return self.err.snapshot()

    def server_cert_der(self, timeout=STEP_TIMEOUT):
        """DER of the server certificate s_client printed."""
        if self.out.wait_for(r"^-----END CERTIFICATE-----$", timeout) is None:
            return None
        m = _PEM_CERT_RE.search(self.stdout())
        return cert_der(m.group(0)) if m else None

    def describe(self):
        return (f"command: {' '.join(self.cmd)}\nexit status: {self.proc.poll()}\n"
                f"stdout:\n{self.stdout()}stderr:\n{self.stderr()}")


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------

class TlsConfigBase(PkiTestCase):

    PEERS = ("openssl", "curl")

    # -- servers -----------------------------------------------------------

    def serve(self, *extra, cert=True, implicit_tls=True, ca_out=False):
        """`uptls serve pingpong` with the localhost certificate (cert=True)."""
        args = []
        if implicit_tls:
            args.append("--implicit-tls")
        if cert:
            args += ["--cert", self.pki.server, "--key", self.pki.server_key]
        return start_uptls_serve(self, self.tmp.name, *args, *extra, ca_out=ca_out)

    def server_line(self, srv, pattern, mark, what, stream="stdout"):
        """Assert that `uptls serve` printed a line matching `pattern` after `mark`."""
        reader = srv.stdout if stream == "stdout" else srv.stderr
        hit = reader.wait_for(pattern, SERVER_LINE_TIMEOUT, mark)
        if hit is None:
            self.fail(f"uptls serve printed no {stream} line matching {pattern!r} "
                      f"({what}) within {SERVER_LINE_TIMEOUT:g}s\n" + srv.describe_running())
        return hit[1]

    # -- s_client ----------------------------------------------------------

    def s_client(self, port, *args, cafile=None, verify_hostname="localhost"):
        return SClient(self, port, *args, cafile=cafile or self.pki.ca,
                       verify_hostname=verify_hostname)

    def s_client_session(self, port, *args, **kw):
        """Connect, PING (wait for PONG), QUIT (wait for exit): the finished SClient."""
        c = self.s_client(port, *args, **kw)
        c.got_pong = c.ping()
        if c.got_pong:
            c.quit()
        else:
            c.finish()
        return c

    def assert_session_ok(self, c, what, srv=None):
        extra = ("\nserver:\n" + srv.describe_running()) if srv is not None else ""
        self.assertTrue(c.got_pong, f"{what}: no PONG through openssl s_client\n"
                        + c.describe() + extra)
        self.assertEqual(c.rc, 0, f"{what}: openssl s_client did not exit 0 after QUIT "
                         "(None: still running, the server did not close)\n"
                         + c.describe() + extra)

    def assert_no_pong(self, c, what, srv=None):
        extra = ("\nserver:\n" + srv.describe_running()) if srv is not None else ""
        self.assertFalse(c.got_pong, f"{what}: got PONG although the session must fail\n"
                         + c.describe() + extra)
        self.assertNotRegex(c.stdout(), re.compile(_PONG_RE, re.M), c.describe())
        self.assertIsNotNone(c.rc, f"{what}: openssl s_client did not exit by itself\n"
                             + c.describe() + extra)

    def assert_stdout_has(self, c, pattern, what):
        self.assertRegex(c.stdout(), re.compile(pattern, re.M),
                         f"{what}: openssl s_client output lacks {pattern!r}\n" + c.describe())


# -- 1, 2: client authentication ---------------------------------------------

class ClientAuthentication(TlsConfigBase):

    def test_client_cert_required(self):
        """--require-client-cert: alice gets PONG; no certificate and a
        certificate from another CA are refused, with the server saying why."""
        srv = self.serve("--client-ca", self.pki.ca, "--require-client-cert")

        mark = srv.stdout.line_count()
        c = self.s_client_session(srv.port, "-cert", self.pki.alice, "-key", self.pki.alice_key)
        self.assert_session_ok(c, "alice's certificate, client auth required", srv)
        self.server_line(srv, r"\bclient certificate CN=alice\b", mark,
                         "the handshake line naming alice")

        mark_err = srv.stderr.line_count()
        c = self.s_client_session(srv.port)
        self.assert_no_pong(c, "no client certificate, client auth required", srv)
        self.server_line(srv, r"^uptls: connection from \S+: .*the client sent no certificate",
                         mark_err, "no client certificate", stream="stderr")

        mark_err = srv.stderr.line_count()
        c = self.s_client_session(srv.port, "-cert", self.pki.mallory,
                                  "-key", self.pki.mallory_key)
        self.assert_no_pong(c, "mallory's certificate from another CA", srv)
        self.server_line(srv, r"^uptls: connection from \S+: .*client certificate verify failed",
                         mark_err, "mallory's certificate from another CA", stream="stderr")

        # The refusals did not hurt the server.
        c = self.s_client_session(srv.port, "-cert", self.pki.alice, "-key", self.pki.alice_key)
        self.assert_session_ok(c, "alice again after the refusals", srv)
        srv.check_alive()

    def test_client_cert_requested(self):
        """--request-client-cert: no certificate is fine (`client certificate
        none`), and a certificate sent is verified and named."""
        srv = self.serve("--client-ca", self.pki.ca, "--request-client-cert")

        mark = srv.stdout.line_count()
        c = self.s_client_session(srv.port)
        self.assert_session_ok(c, "no client certificate, client auth requested", srv)
        self.server_line(srv, r"\bclient certificate none\b", mark,
                         "the handshake line without a client certificate")

        mark = srv.stdout.line_count()
        c = self.s_client_session(srv.port, "-cert", self.pki.alice, "-key", self.pki.alice_key)
        self.assert_session_ok(c, "alice's certificate, client auth requested", srv)
        self.server_line(srv, r"\bclient certificate CN=alice\b", mark,
                         "the handshake line naming alice")
        srv.check_alive()


# -- 3: ALPN -------------------------------------------------------------------

class Alpn(TlsConfigBase):

    def test_server_preference_and_no_overlap(self):
        """--alpn h2,http/1.1: the server's preference wins; no protocol in
        common fails the handshake; a client without ALPN gets none."""
        srv = self.serve("--alpn", "h2,http/1.1")

        mark = srv.stdout.line_count()
        c = self.s_client_session(srv.port, "-alpn", "http/1.1,h2")
        self.assert_session_ok(c, "ALPN http/1.1,h2 offered", srv)
        self.assert_stdout_has(c, r"^ALPN protocol: h2$", "server preference h2")
        self.server_line(srv, r"\bALPN h2\b", mark, "the handshake line with ALPN h2")

        c = self.s_client_session(srv.port, "-alpn", "http/1.1")
        self.assert_session_ok(c, "ALPN http/1.1 offered", srv)
        self.assert_stdout_has(c, r"^ALPN protocol: http/1\.1$", "the only common protocol")

        mark_err = srv.stderr.line_count()
        c = self.s_client_session(srv.port, "-alpn", "foo")
        self.assert_no_pong(c, "ALPN foo offered", srv)
        self.assertNotEqual(c.rc, 0, "s_client exited 0 without a common ALPN protocol\n"
                            + c.describe())
        self.assertIn("no application protocol", c.stderr(),
                      "s_client did not get a no_application_protocol alert\n" + c.describe())
        self.assertNotRegex(c.stdout(), re.compile(r"^ALPN protocol:", re.M), c.describe())
        self.server_line(srv, r"^uptls: connection from \S+: ", mark_err,
                         "the failed ALPN handshake", stream="stderr")

        mark = srv.stdout.line_count()
        c = self.s_client_session(srv.port)
        self.assert_session_ok(c, "no ALPN offered", srv)
        self.assert_stdout_has(c, r"^No ALPN negotiated$", "no ALPN offered")
        self.server_line(srv, r"\bALPN none\b", mark, "the handshake line without ALPN")
        srv.check_alive()


# -- 4: versions and ciphers ---------------------------------------------------

class VersionsAndCiphers(TlsConfigBase):

    def test_min_tls_1_3(self):
        """--min-tls 1.3: a TLS 1.2-only client is refused; TLS 1.3 works."""
        srv = self.serve("--min-tls", "1.3")
        mark_err = srv.stderr.line_count()
        c = self.s_client_session(srv.port, "-tls1_2")
        self.assert_no_pong(c, "s_client -tls1_2 against --min-tls 1.3", srv)
        self.assertNotEqual(c.rc, 0, c.describe())
        self.server_line(srv, r"^uptls: connection from \S+: ", mark_err,
                         "the refused TLS 1.2 handshake", stream="stderr")

        mark = srv.stdout.line_count()
        c = self.s_client_session(srv.port)
        self.assert_session_ok(c, "default s_client against --min-tls 1.3", srv)
        self.assert_stdout_has(c, r"^New, TLSv1\.3, Cipher is ", "TLS 1.3")
        self.server_line(srv, r"^TLS TLSv1\.3, cipher ", mark, "the TLS 1.3 handshake line")
        srv.check_alive()

    def test_max_tls_1_2_with_cipher(self):
        """--max-tls 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256: that version
        and cipher are used; another cipher or TLS 1.3 only is refused."""
        cipher = "ECDHE-ECDSA-AES128-GCM-SHA256"
        srv = self.serve("--max-tls", "1.2", "--ciphers", cipher)

        mark = srv.stdout.line_count()
        c = self.s_client_session(srv.port)
        self.assert_session_ok(c, "default s_client against --max-tls 1.2", srv)
        self.assert_stdout_has(c, rf"^New, TLSv1\.2, Cipher is {cipher}$", "TLS 1.2 + cipher")
        self.server_line(srv, rf"^TLS TLSv1\.2, cipher {cipher}\b", mark,
                         "the TLS 1.2 handshake line")

        c = self.s_client_session(srv.port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384")
        self.assert_no_pong(c, "a TLS 1.2 cipher the server does not allow", srv)
        self.assertNotEqual(c.rc, 0, c.describe())

        c = self.s_client_session(srv.port, "-tls1_3")
        self.assert_no_pong(c, "s_client -tls1_3 against --max-tls 1.2", srv)
        self.assertNotEqual(c.rc, 0, c.describe())
        srv.check_alive()

    def test_ciphersuites_and_groups(self):
        """--ciphersuites and --groups choose the TLS 1.3 suite and the key exchange."""
        srv = self.serve("--ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", "--groups", "P-256")
        c = self.s_client_session(srv.port)
        self.assert_session_ok(c, "--ciphersuites CHACHA20 --groups P-256", srv)
        self.assert_stdout_has(c, r"^New, TLSv1\.3, Cipher is TLS_CHACHA20_POLY1305_SHA256$",
                               "the only allowed TLS 1.3 suite")
        self.assert_stdout_has(c, r"^Server Temp Key: ECDH, prime256v1, 256 bits$",
                               "the only allowed group")

        c = self.s_client_session(srv.port, "-groups", "X25519")
        self.assert_no_pong(c, "a client offering only X25519 against --groups P-256", srv)
        srv.check_alive()

    def test_deprecated_versions_refused(self):
        """--min-tls 1.0 / --max-tls 1.1 / --min-tls SSLv3: exit 1, naming the RFC."""
        for option, value, rfc in (("--min-tls", "1.0", "RFC 8996"),
                                   ("--max-tls", "1.1", "RFC 8996"),
                                   ("--min-tls", "SSLv3", "RFC 7568")):
            with self.subTest(option=option, value=value):
                cmd = [up.UPTLS, "serve", "pingpong", "--listen", f"{HOST}:0",
                       "--implicit-tls", "--cert", self.pki.server,
                       "--key", self.pki.server_key, option, value]
                try:
                    # run() kills the child (by its PID) if it overruns.
                    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                          text=True, timeout=STEP_TIMEOUT)
                except subprocess.TimeoutExpired as exc:
                    self.fail(f"{' '.join(cmd)} kept running (it must refuse {value})\n"
                              f"stdout:\n{exc.stdout}\nstderr:\n{exc.stderr}")
                what = (f"command: {' '.join(cmd)}\nexit status: {proc.returncode}\n"
                        f"stdout:\n{proc.stdout}stderr:\n{proc.stderr}")
                self.assertEqual(proc.returncode, 1, what)
                self.assertIn(rfc, proc.stderr, what)
                self.assertNotIn("listening on", proc.stdout, what)


# -- 5: SNI --------------------------------------------------------------------

class Sni(TlsConfigBase):

    def test_sni_pem_identity(self):
        """--sni-pem a.pem: SNI a.example gets CN=a.example (verified for
        a.example), SNI localhost and no SNI get the default CN=localhost."""
        srv = self.serve("--sni-pem", self.pki.a_bundle)

        c = self.s_client_session(srv.port, "-servername", "a.example",
                                  verify_hostname="a.example")
        self.assert_session_ok(c, "SNI a.example", srv)
        self.assert_stdout_has(c, r"^subject=CN ?= ?a\.example$", "the a.example identity")
        self.assertEqual(c.server_cert_der(), file_cert_der(self.pki.a), c.describe())

        c = self.s_client_session(srv.port, "-servername", "localhost")
        self.assert_session_ok(c, "SNI localhost", srv)
        self.assert_stdout_has(c, r"^subject=CN ?= ?localhost$", "the default identity")
        self.assertEqual(c.server_cert_der(), file_cert_der(self.pki.server), c.describe())

        c = self.s_client_session(srv.port, "-noservername")
        self.assert_session_ok(c, "no SNI", srv)
        self.assert_stdout_has(c, r"^subject=CN ?= ?localhost$", "the default identity")
        srv.check_alive()


# -- 6: resumption -------------------------------------------------------------

class Resumption(TlsConfigBase):

    def _resume(self, srv, version):
        sess = os.path.join(self.tmp.name, f"sess-{version}.pem")
        # PING/PONG first: the TLS 1.3 tickets arrive after the handshake.
        c = self.s_client_session(srv.port, "-sess_out", sess)
        self.assert_session_ok(c, f"first {version} session", srv)
        self.assert_stdout_has(c, rf"^New, {version}, Cipher is ", "a full handshake")
        self.assertTrue(os.path.isfile(sess) and os.path.getsize(sess) > 0,
                        f"s_client wrote no session to {sess} (no ticket from the server?)\n"
                        + c.describe())

        c = self.s_client_session(srv.port, "-sess_in", sess)
        self.assert_session_ok(c, f"resumed {version} session", srv)
        self.assert_stdout_has(c, rf"^Reused, {version}, Cipher is ", "a resumed session")
        srv.check_alive()

    def test_tls13_resumption(self):
        """A TLS 1.3 ticket from the first session resumes the second."""
        self._resume(self.serve(), "TLSv1.3")

    def test_tls12_resumption(self):
        """--max-tls 1.2: the session of the first connection resumes the second."""
        self._resume(self.serve("--max-tls", "1.2"), "TLSv1.2")


# -- 7: uptls client against CPython's ssl -----------------------------------

class UptlsClientAgainstPython(TlsConfigBase):
    """`uptls client pingpong --implicit-tls` against sp.ThreadedSeedServer."""

    def _client(self, port, *extra):
        return run_uptls(["client", "pingpong", f"{HOST}:{port}", "--implicit-tls",
                          "--cafile", self.pki.ca, "--servername", "localhost", *extra])

    def _server(self, client_auth=False, alpn=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.pki.server, self.pki.server_key)
        if client_auth:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.pki.ca)
        if alpn:
            ctx.set_alpn_protocols(alpn)
        server = sp.ThreadedSeedServer(ctx, HOST)
        self.addCleanup(server.close)
        return server

    @staticmethod
    def _subject(peercert):
        return dict(rdn[0] for rdn in (peercert or {}).get("subject", ()))

    def test_client_certificate(self):
        """Python server with CERT_REQUIRED: --cert alice works and the server
        sees CN=alice; without --cert the client exits 1 and says why."""
        server = self._server(client_auth=True)
        rc, out, err, what = self._client(server.port, "--cert", self.pki.alice,
                                          "--key", self.pki.alice_key)
        self.assertEqual(rc, 0, what)
        self.assertEqual(server.errors, [], f"Python server errors: {server.errors!r}\n{what}")
        self.assertEqual(len(server.sessions), 1, what)
        self.assertEqual(self._subject(server.sessions[0]["peercert"]).get("commonName"),
                         "alice", f"Python server saw {server.sessions[0]!r}\n{what}")

        rc, out, err, what = self._client(server.port)
        self.assertEqual(rc, 1, what)
        self.assertIn("the server requires a client certificate", err, what)
        self.assertRegex(err, re.compile(r"^uptls client: ", re.M), what)
        self.assertEqual(len(server.sessions), 1, "the Python server accepted a session "
                         f"without a client certificate: {server.sessions!r}\n{what}")

    def test_alpn(self):
        """Python server with ALPN h2: `uptls client --alpn h2` prints ALPN h2."""
        server = self._server(alpn=["h2"])
        rc, out, err, what = self._client(server.port, "--alpn", "h2")
        self.assertEqual(rc, 0, what)
        self.assertRegex(out, re.compile(
            r"^TLS TLSv1\.3, cipher \S+, \d+ secret bits, ALPN h2$", re.M), what)
        self.assertEqual([x["alpn"] for x in server.sessions], ["h2"], what)
        self.assertEqual(server.errors, [], f"Python server errors: {server.errors!r}\n{what}")

    def test_no_alpn(self):
        """Python server without ALPN: `uptls client --alpn h2` prints ALPN none."""
        server = self._server()
        rc, out, err, what = self._client(server.port, "--alpn", "h2")
        self.assertEqual(rc, 0, what)
        self.assertRegex(out, re.compile(r"^TLS TLSv1\.3, .*\bALPN none$", re.M), what)
        self.assertEqual([x["alpn"] for x in server.sessions], [None], what)
        self.assertEqual(server.errors, [], f"Python server errors: {server.errors!r}\n{what}")


# -- 8: curl -------------------------------------------------------------------

class Curl(TlsConfigBase):

    def _curl(self, port, name):
        cmd = ["curl", "-q", "-sv", "--noproxy", "*", "--cacert", self.pki.ca,
               "--max-time", str(CURL_MAX_TIME), "--resolve", f"{name}:{port}:{HOST}",
               f"https://{name}:{port}/"]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=CURL_MAX_TIME + 20)
        except subprocess.TimeoutExpired:
            self.fail(f"{' '.join(cmd)} ignored its --max-time {CURL_MAX_TIME}")
        what = (f"command: {' '.join(cmd)}\nexit status: {proc.returncode}\n"
                f"stderr:\n{proc.stderr}")
        return proc.returncode, proc.stderr, what

    def test_curl_handshake_and_name_check(self):
        """curl completes the handshake (TLS 1.3, ALPN http/1.1, verified);
        for wrong.example it fails with exit 60."""
        srv = self.serve("--alpn", "http/1.1")

        mark = srv.stdout.line_count()
        rc, err, what = self._curl(srv.port, "localhost")
        what += "\nserver:\n" + srv.describe_running()
        # The pingpong server ignores HTTP: curl times out (28) after the handshake.
        self.assertIn(rc, (28, 52), "curl should time out waiting for an HTTP answer\n" + what)
        self.assertIn("SSL connection using TLSv1.3", err, what)
        self.assertIn("ALPN: server accepted http/1.1", err, what)
        self.assertIn("SSL certificate verify ok", err, what)
        self.server_line(srv, r"\bALPN http/1\.1\b", mark, "curl's handshake line")

        rc, err, what = self._curl(srv.port, "wrong.example")
        self.assertEqual(rc, 60, "curl must refuse a certificate without wrong.example\n" + what)
        self.assertIn("no alternative certificate subject name matches target host name "
                      "'wrong.example'", err, what)
        srv.check_alive()


# -- 9: key log ----------------------------------------------------------------

_KEYLOG_LINE_RE = re.compile(r"^(?P<label>[A-Z0-9_]+) (?P<random>[0-9a-f]{64}) [0-9a-f]+$")


class KeyLog(TlsConfigBase):

    def _read_keylog(self, path):
        try:
            with open(path, encoding="ascii") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return None

    def _wait_keylog(self, path, label, timeout=SERVER_LINE_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            lines = self._read_keylog(path) or []
            if any(line.startswith(label + " ") for line in lines):
                return lines
            if time.monotonic() >= deadline:
                return lines
            time.sleep(0.1)

    def test_key_log_client_and_server(self):
        """--key-log on both sides (STARTTLS): NSS key log format, the client's
        TLS 1.3 secrets match the server's; TLS 1.2 logs CLIENT_RANDOM."""
        server_log = os.path.join(self.tmp.name, "server.keys")
        srv = self.serve("--key-log", server_log, cert=False, implicit_tls=False, ca_out=True)

        client_log = os.path.join(self.tmp.name, "client.keys")
        rc, out, err, what = run_uptls(
            ["client", "pingpong", f"{HOST}:{srv.port}", "--cafile", srv.ca,
             "--servername", "localhost", "--key-log", client_log], 60)
        self.assertEqual(rc, 0, what)
        lines = self._read_keylog(client_log)
        self.assertIsNotNone(lines, f"no key log file {client_log}\n{what}")
        for line in lines:
            if line and not line.startswith("#"):
                self.assertRegex(line, _KEYLOG_LINE_RE, f"not a key log line\n{what}")
        labels = {m.group("label") for m in map(_KEYLOG_LINE_RE.match, lines) if m}
        for label in ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"):
            self.assertIn(label, labels, f"{client_log}:\n" + "\n".join(lines))

        server_lines = self._wait_keylog(server_log, "CLIENT_HANDSHAKE_TRAFFIC_SECRET")
        client_secret = [ln for ln in lines if ln.startswith("CLIENT_HANDSHAKE_TRAFFIC_SECRET ")]
        self.assertTrue(set(client_secret) <= set(server_lines),
                        "the client's CLIENT_HANDSHAKE_TRAFFIC_SECRET is not in the server's "
                        f"key log\nclient:\n" + "\n".join(lines)
                        + "\nserver:\n" + "\n".join(server_lines))

        client_log12 = os.path.join(self.tmp.name, "client12.keys")
        rc, out, err, what = run_uptls(
            ["client", "pingpong", f"{HOST}:{srv.port}", "--cafile", srv.ca,
             "--servername", "localhost", "--max-tls", "1.2", "--key-log", client_log12], 60)
        self.assertEqual(rc, 0, what)
        lines = self._read_keylog(client_log12) or []
        self.assertTrue(any(_KEYLOG_LINE_RE.match(ln) and ln.startswith("CLIENT_RANDOM ")
                            for ln in lines),
                        f"no CLIENT_RANDOM line for TLS 1.2 in {client_log12}:\n"
                        + "\n".join(lines) + "\n" + what)
        srv.check_alive()


# -- 10: SIGHUP reload ---------------------------------------------------------

class Reload(TlsConfigBase):

    def test_sighup_reloads_certificate(self):
        """SIGHUP: new connections get the renewed certificate (SAN
        renewed.example), an open session keeps answering PING."""
        d = self.tmp.name
        c1, k1 = self.pki.make_leaf("c1", self.pki.ca, self.pki.ca_key, "localhost",
                                    dns_names=("localhost",), ip_addresses=("127.0.0.1",),
                                    directory=d)
        srv = start_uptls_serve(self, d, "--implicit-tls", "--cert", c1, "--key", k1,
                                ca_out=False)
        old_der = file_cert_der(c1)

        old = self.s_client(srv.port)
        self.assertTrue(old.ping(), "no PONG on the session opened before the reload\n"
                        + old.describe())
        self.assertEqual(old.server_cert_der(), old_der, old.describe())

        # Renew: new key and certificate with another serial and an extra SAN,
        # moved over the files the server was started with.
        new_cert, new_key = self.pki.make_leaf(
            "renewed", self.pki.ca, self.pki.ca_key, "localhost",
            dns_names=("localhost", "renewed.example"), ip_addresses=("127.0.0.1",),
            directory=d)
        new_der = file_cert_der(new_cert)
        self.assertNotEqual(new_der, old_der)
        os.replace(new_key, k1)
        os.replace(new_cert, c1)
        srv.send_signal(signal.SIGHUP)

        deadline = time.monotonic() + RELOAD_TIMEOUT
        attempts = []
        while True:
            c = self.s_client_session(srv.port)
            self.assert_session_ok(c, f"new session {len(attempts) + 1} after SIGHUP", srv)
            der = c.server_cert_der()
            attempts.append(der)
            if der == new_der:
                break
            if time.monotonic() >= deadline:
                self.fail(f"new sessions still got the old certificate {RELOAD_TIMEOUT:g}s "
                          f"after SIGHUP ({len(attempts)} sessions)\n" + c.describe()
                          + "\nserver:\n" + srv.describe_running())
            time.sleep(0.25)
        text = openssl("x509", "-noout", "-ext", "subjectAltName", "-inform", "PEM",
                       input_text=ssl.DER_cert_to_PEM_cert(der))
        self.assertIn("DNS:renewed.example", text)

        self.assertTrue(old.ping(), "the session opened before SIGHUP no longer answers PING\n"
                        + old.describe() + "\nserver:\n" + srv.describe_running())
        self.assertEqual(old.quit(), 0, "the old session did not end cleanly on QUIT\n"
                         + old.describe())
        srv.check_alive()


# -- more identity and client options ------------------------------------------

class MoreOptions(TlsConfigBase):

    def test_pkcs12_with_passphrase_file(self):
        """--pkcs12 F --passphrase-file P serves that identity."""
        p12 = os.path.join(self.tmp.name, "server.p12")
        pass_file = os.path.join(self.tmp.name, "pass.txt")
        with open(pass_file, "w", encoding="ascii") as f:
            f.write("p12 secret\n")
        openssl("pkcs12", "-export", "-in", self.pki.server, "-inkey", self.pki.server_key,
                "-certfile", self.pki.ca, "-out", p12, "-passout", f"file:{pass_file}")
        srv = self.serve("--pkcs12", p12, "--passphrase-file", pass_file, cert=False)
        c = self.s_client_session(srv.port)
        self.assert_session_ok(c, "--pkcs12 identity", srv)
        self.assertEqual(c.server_cert_der(), file_cert_der(self.pki.server), c.describe())

    def test_pem_with_encrypted_key_and_passphrase_env(self):
        """--pem F (encrypted key + chain) --passphrase-env VAR serves that identity."""
        secret = "pem " + secrets.token_hex(8)
        key = os.path.join(self.tmp.name, "server-enc.key")
        # The child processes inherit the variable: openssl reads it with
        # -passout env:, uptls with --passphrase-env.
        with mock.patch.dict(os.environ, {"UPTLS_TEST_PEM_PASS": secret}):
            openssl("pkey", "-in", self.pki.server_key, "-aes256", "-out", key,
                    "-passout", "env:UPTLS_TEST_PEM_PASS")
            pem = self.pki.bundle("server-enc-bundle", key, self.pki.server,
                                  directory=self.tmp.name)
            srv = self.serve("--pem", pem, "--passphrase-env", "UPTLS_TEST_PEM_PASS",
                             cert=False)
        c = self.s_client_session(srv.port)
        self.assert_session_ok(c, "--pem with an encrypted key", srv)
        self.assertEqual(c.server_cert_der(), file_cert_der(self.pki.server), c.describe())

    def test_uptls_client_name_mismatch_and_insecure(self):
        """uptls client: a wrong --servername names the certificate's names;
        --insecure connects anyway with a loud WARNING."""
        srv = self.serve(cert=False, implicit_tls=False, ca_out=True)
        rc, out, err, what = run_uptls(
            ["client", "pingpong", f"{HOST}:{srv.port}", "--cafile", srv.ca,
             "--servername", "a.example"], 60)
        self.assertEqual(rc, 1, what)
        self.assertIn("uptls client: ", err, what)
        self.assertIn("certificate verify failed: hostname 'a.example' not in certificate "
                      "names [localhost, 127.0.0.1, ::1]", err, what)

        rc, out, err, what = run_uptls(
            ["client", "pingpong", f"{HOST}:{srv.port}", "--servername", "a.example",
             "--insecure"], 60)
        self.assertEqual(rc, 0, what)
        self.assertIn("WARNING", err, what)
        srv.check_alive()


# -- OCSP stapling by `uptls serve` ----------------------------------------------

class OcspStapling(TlsConfigBase):

    def test_serve_staples_ocsp_response(self):
        """--ocsp-response resp.der (made by `openssl ocsp`): `s_client -status`
        shows "OCSP Response Status: successful" and "Cert Status: good";
        without --ocsp-response it shows that no response was sent."""
        resp = make_ocsp_response(os.path.join(self.tmp.name, "server-ocsp.der"),
                                  self.pki.server, self.pki.ca, self.pki.ca_key)
        srv = self.serve("--ocsp-response", resp)
        c = self.s_client_session(srv.port, "-status")
        self.assert_session_ok(c, "s_client -status against --ocsp-response", srv)
        self.assert_stdout_has(c, r"^\s*OCSP Response Status: successful \(0x0\)$",
                               "the stapled response")
        self.assert_stdout_has(c, r"^\s*Cert Status: good$", "the stapled response")
        self.assertNotIn("OCSP response: no response sent", c.stdout(), c.describe())
        srv.check_alive()

        plain = self.serve()
        c = self.s_client_session(plain.port, "-status")
        self.assert_session_ok(c, "s_client -status without --ocsp-response", plain)
        self.assert_stdout_has(c, r"^OCSP response: no response sent$", "nothing stapled")
        plain.check_alive()


if __name__ == "__main__":
    sys.exit(up.main())
