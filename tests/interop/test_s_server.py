#!/usr/bin/python3
"""Interop tests of `uptls client pingpong --implicit-tls` against `openssl s_server`.

Usage:
    /usr/bin/python3 tests/interop/test_s_server.py --uptls PATH [unittest args]

The server is the openssl command line's s_server (OpenSSL 3.0), one per
session (-naccept 1), on 127.0.0.1 only.  It prints what it reads from the
client on its stdout and sends what the test writes to its stdin, so the test
plays the pingpong server: it waits for the client's "PING" on s_server's
stdout, writes "PONG\\n" to s_server's stdin, and then expects "QUIT".
Certificates come from tls_pki.Pki (ECDSA P-256, openssl command line); OCSP
responses from `openssl ocsp` (tls_pki.make_ocsp_response).  Every wait is
bounded and every child is stopped by the test that started it (SIGTERM to
its own PID, SIGKILL after a timeout).  Standard library only; Linux (the
test looks in /proc to see that s_server listens, see SServer).

What is checked (see each test's docstring): plain implicit TLS, client
certificates required and optional, ALPN, protocol versions and ciphers,
the server's name, and stapled OCSP responses as `uptls client --ocsp`
reports them.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep tests/interop free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uptls_process as up  # noqa: E402
from uptls_process import HOST, PipeReader, start_process, stop_process  # noqa: E402
from tls_pki import PkiTestCase, make_ocsp_response  # noqa: E402

LISTEN_TIMEOUT = 10.0       # s_server started -> its socket listens
PORT_ATTEMPTS = 5           # ports tried when another process took the free one
SESSION_TIMEOUT = up.CLIENT_TIMEOUT   # a whole `uptls client pingpong` run
SERVER_EXIT_TIMEOUT = 10.0  # client gone -> s_server -naccept 1 exits by itself
STOP_TIMEOUT = 5.0          # SIGTERM -> exit, then SIGKILL

_TCP_LISTEN = "0A"          # TCP_LISTEN in /proc/net/tcp's st column


def free_port():
    """A port that was free on 127.0.0.1 a moment ago (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _socket_inodes(pid):
    """Inodes of the sockets process `pid` has open."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    return inodes


def _listening_inodes(port):
    """Inodes of the TCP sockets listening on 127.0.0.1:port."""
    local = f"0100007F:{port:04X}"   # 127.0.0.1 as /proc/net/tcp writes it
    inodes = set()
    with open("/proc/net/tcp", encoding="ascii") as f:
        next(f, None)  # header
        for line in f:
            fields = line.split()
            if len(fields) > 9 and fields[1] == local and fields[3] == _TCP_LISTEN:
                inodes.add(fields[9])
    return inodes


class Session:
    """What one `uptls client pingpong` run against an SServer left behind."""

    def __init__(self, cmd, rc, out, err, timed_out, got_ping, sent_pong, server):
        self.cmd = cmd
        self.rc = rc                # None if it had to be killed
        self.out = out
        self.err = err
        self.timed_out = timed_out
        self.got_ping = got_ping    # s_server printed a PING line
        self.sent_pong = sent_pong  # the test wrote PONG to s_server's stdin
        self.server = server

    def server_lines(self):
        return [ln.rstrip("\r\n") for ln in self.server.out.snapshot().splitlines()]

    def describe(self):
        return (f"client command: {' '.join(self.cmd)}\n"
                f"client exit status: {self.rc}"
                f"{' (killed: it did not finish in time)' if self.timed_out else ''}\n"
                f"client stdout:\n{self.out}client stderr:\n{self.err}"
                f"s_server saw PING: {self.got_ping}, test sent PONG: {self.sent_pong}\n"
                + self.server.describe())


class SServer:
    """An `openssl s_server -brief -naccept 1` child on 127.0.0.1:PORT.

    -brief matters: without it (and without -quiet) s_server takes a line
    that it reads from stdin and that starts with P, Q, q, r, R, K, k, c or S
    as a command -- "P" writes clear text onto the TCP connection, which
    breaks the session right where PONG should go -- and OpenSSL 3.0's
    s_server has no -nocommands.  With -brief the data goes through as it is,
    and s_server's own text (the connection summary, errors) goes to stderr,
    but it does not print its "ACCEPT" line, so the test looks in /proc for a
    listening socket on the port that belongs to s_server's PID.

    A port taken between free_port() and s_server's bind() ("Address already
    in use") is retried with another one.  Registers its stop as a cleanup of
    `testcase`.
    """

    def __init__(self, testcase, *args, cert, key):
        self.proc = None
        failures = []
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port()
            self.cmd = ["openssl", "s_server", "-accept", f"{HOST}:{self.port}",
                        "-naccept", "1", "-brief", "-cert", cert, "-key", key, *args]
            self.proc = start_process(self.cmd, stdin=subprocess.PIPE)
            self.out = PipeReader(self.proc.stdout)
            self.err = PipeReader(self.proc.stderr)
            self.exited_by_itself = None
            self._stopped = False
            if self._wait_listening():
                testcase.addCleanup(self.stop)
                return
            self.stop()
            failures.append(self.describe())
            if "Address already in use" not in self.err.snapshot():
                raise AssertionError(f"openssl s_server did not listen on {HOST}:{self.port} "
                                     f"within {LISTEN_TIMEOUT:g}s\n" + failures[-1])
        raise AssertionError(f"openssl s_server found no free port in {PORT_ATTEMPTS} "
                             "attempts\n" + "\n".join(failures))

    def _wait_listening(self):
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while self.proc.poll() is None:
            if _socket_inodes(self.proc.pid) & _listening_inodes(self.port):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return False

    def stop(self):
        """SIGTERM (by PID) unless it already exited; close the pipes."""
        if self._stopped:
            return
        self._stopped = True
        if self.exited_by_itself is None:
            self.exited_by_itself = self.proc.poll() is not None
        stop_process(self.proc, STOP_TIMEOUT, (self.out, self.err))

    def describe(self):
        return (f"s_server command: {' '.join(self.cmd)}\n"
                f"s_server exit status: {self.proc.poll()}"
                f"{'' if self.exited_by_itself is not False else ' (stopped by the test)'}\n"
                f"s_server stdout:\n{self.out.snapshot()}"
                f"s_server stderr:\n{self.err.snapshot()}")

    def _send(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def session(self, client_args, timeout=SESSION_TIMEOUT):
        """Run `uptls client pingpong 127.0.0.1:PORT --implicit-tls ARGS...`.

        Answers the client's PING (seen on s_server's stdout) with PONG (on
        s_server's stdin), waits for the client to exit and then for s_server
        (-naccept 1) to exit by itself; stops both (by PID) if they overrun.
        """
        cmd = [up.UPTLS, "client", "pingpong", f"{HOST}:{self.port}", "--implicit-tls",
               *client_args]
        client = start_process(cmd)
        cout, cerr = PipeReader(client.stdout), PipeReader(client.stderr)
        deadline = time.monotonic() + timeout
        got_ping = sent_pong = timed_out = False
        try:
            while True:
                if self.out.wait_for(r"^PING$", 0.1) is not None:
                    got_ping = True
                    sent_pong = self._send(b"PONG\n")
                    break
                if (client.poll() is not None or self.proc.poll() is not None
                        or time.monotonic() >= deadline):
                    break
                time.sleep(0.02)  # wait_for returns at once after s_server's EOF
            try:
                client.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                timed_out = True
        finally:
            rc, _ = stop_process(client, STOP_TIMEOUT, (cout, cerr))
            try:
                self.proc.wait(SERVER_EXIT_TIMEOUT)
                self.exited_by_itself = True
            except subprocess.TimeoutExpired:
                self.exited_by_itself = False
            self.stop()
        return Session(cmd, None if timed_out else rc, cout.snapshot(), cerr.snapshot(),
                       timed_out, got_ping, sent_pong, self)


class SServerBase(PkiTestCase):

    @classmethod
    def setUpClass(cls):
        if not os.path.isfile("/proc/net/tcp"):
            raise unittest.SkipTest("no /proc/net/tcp to see that s_server listens")
        super().setUpClass()

    def session(self, server_args=(), client_args=(), *, servername="localhost"):
        """A fresh s_server (localhost certificate) + one uptls client run.

        The client trusts the test CA and verifies `servername` (None: no
        --servername, so the client checks the address it connects to).
        """
        srv = SServer(self, *server_args, cert=self.pki.server, key=self.pki.server_key)
        args = ["--cafile", self.pki.ca]
        if servername is not None:
            args += ["--servername", servername]
        return srv.session([*args, *client_args])

    # -- assertions ----------------------------------------------------------

    def assert_pingpong_ok(self, s, what):
        """Exit 0, PONG received, s_server saw PING then QUIT and then the end."""
        self.assertFalse(s.timed_out, f"{what}: uptls client did not finish\n" + s.describe())
        self.assertEqual(s.rc, 0, f"{what}: uptls client did not exit 0\n" + s.describe())
        self.assertEqual(s.err, "", f"{what}: uptls client wrote to stderr\n" + s.describe())
        self.assertRegex(s.out, re.compile(r"^Received: PONG$", re.M),
                         f"{what}: the client did not report PONG\n" + s.describe())
        self.assertTrue(s.got_ping and s.sent_pong, s.describe())
        self.assertEqual(s.server_lines(), ["PING", "QUIT"],
                         f"{what}: s_server should have read exactly PING and QUIT\n"
                         + s.describe())
        self.assertTrue(s.server.exited_by_itself,
                        f"{what}: s_server -naccept 1 did not exit after the session, "
                        "so the client did not close the connection\n" + s.describe())
        self.assertNotRegex(s.server.err.snapshot(), re.compile(r"^ERROR$", re.M),
                            f"{what}: s_server reported an error\n" + s.describe())

    def assert_client_failed(self, s, message, what):
        """Exit 1 with `uptls client: ...MESSAGE...` on stderr; no PING reached s_server."""
        self.assertFalse(s.timed_out, f"{what}: uptls client did not finish\n" + s.describe())
        self.assertEqual(s.rc, 1, f"{what}: uptls client should exit 1\n" + s.describe())
        self.assertRegex(s.err, re.compile(r"^uptls client: .*" + re.escape(message), re.M),
                         f"{what}: stderr should say {message!r}\n" + s.describe())
        self.assertNotRegex(s.out, re.compile(r"^Received: PONG$", re.M), s.describe())
        self.assertFalse(s.got_ping, f"{what}: s_server read PING from a session that "
                         "must have failed\n" + s.describe())

    def assert_tls_line(self, s, pattern, what):
        """The client's `TLS VERSION, cipher C, N secret bits, ALPN A[, OCSP O]` line."""
        self.assertRegex(s.out, re.compile(r"^TLS " + pattern + "$", re.M),
                         f"{what}: the client's TLS line does not match\n" + s.describe())

    def assert_server_said(self, s, pattern, what):
        self.assertRegex(s.server.err.snapshot(), re.compile(pattern, re.M),
                         f"{what}: s_server's stderr lacks {pattern!r}\n" + s.describe())


class UptlsClientAgainstSServer(SServerBase):

    def test_implicit_tls(self):
        """Plain implicit TLS: exit 0, PONG received, s_server read PING and
        QUIT; both sides agree on TLS 1.3 and the suite; no client certificate."""
        s = self.session()
        self.assert_pingpong_ok(s, "plain implicit TLS")
        m = re.search(r"^TLS TLSv1\.3, cipher (TLS_\w+), \d+ secret bits, ALPN none$",
                      s.out, re.M)
        self.assertIsNotNone(m, "no TLS 1.3 line\n" + s.describe())
        self.assert_server_said(s, r"^Protocol version: TLSv1\.3$", "TLS 1.3")
        self.assert_server_said(s, rf"^Ciphersuite: {m.group(1)}$", "the same suite")
        self.assert_server_said(s, r"^No peer certificate$", "no client certificate")
        self.assertRegex(s.out, re.compile(
            r"^The server certificate is CN=localhost \(issuer CN=uptls tls-config test CA\)$",
            re.M), s.describe())

    def test_client_certificate_required(self):
        """s_server -Verify 1 -CAfile ca.pem -verify_return_error: alice's
        certificate works (s_server verified CN = alice); without a
        certificate the client exits 1 saying the server requires one; a
        certificate from another CA is rejected (unknown ca)."""
        # -Verify N: verify the peer, depth N, and fail without a certificate
        # (SSL_VERIFY_FAIL_IF_NO_PEER_CERT); -verify N only asks.  Without
        # -verify_return_error s_server's verify callback logs a bad
        # certificate and carries on, so mallory would get in.
        required = ("-Verify", "1", "-CAfile", self.pki.ca, "-verify_return_error")

        s = self.session(required, ["--cert", self.pki.alice, "--key", self.pki.alice_key])
        self.assert_pingpong_ok(s, "alice's certificate, required")
        self.assert_server_said(s, r"^Peer certificate: CN ?= ?alice$", "alice")
        self.assert_server_said(s, r"^Verification: OK$", "alice verified")

        # TLS 1.3: the client's handshake is over before the server has seen
        # its (empty) Certificate message, so the client prints its TLS line
        # and sends PING; the certificate_required alert fails the read of PONG.
        s = self.session(required)
        self.assert_client_failed(s, "the server requires a client certificate",
                                  "no client certificate, required")
        self.assert_server_said(s, r"peer did not return a certificate", "no certificate")

        s = self.session(required, ["--cert", self.pki.mallory, "--key", self.pki.mallory_key])
        self.assert_client_failed(s, "the peer rejected our certificate",
                                  "mallory's certificate from another CA")
        self.assertIn("unknown ca", s.err, s.describe())
        self.assert_server_said(s, r"certificate verify failed", "mallory refused")

    def test_client_certificate_optional(self):
        """s_server -verify 1 -CAfile ca.pem: without a certificate the session
        works (No peer certificate); with alice's, s_server verified CN = alice."""
        optional = ("-verify", "1", "-CAfile", self.pki.ca, "-verify_return_error")

        s = self.session(optional)
        self.assert_pingpong_ok(s, "no client certificate, optional")
        self.assert_server_said(s, r"^No peer certificate$", "no client certificate")

        s = self.session(optional, ["--cert", self.pki.alice, "--key", self.pki.alice_key])
        self.assert_pingpong_ok(s, "alice's certificate, optional")
        self.assert_server_said(s, r"^Peer certificate: CN ?= ?alice$", "alice")
        self.assert_server_said(s, r"^Verification: OK$", "alice verified")

    def test_alpn(self):
        """s_server -alpn h2,http/1.1: --alpn http/1.1 -> ALPN http/1.1;
        --alpn http/1.1,h2 -> h2 (s_server's preference); no --alpn -> ALPN
        none; --alpn foo -> the handshake fails (no ALPN protocol in common)."""
        alpn = ("-alpn", "h2,http/1.1")

        s = self.session(alpn, ["--alpn", "http/1.1"])
        self.assert_pingpong_ok(s, "--alpn http/1.1")
        self.assert_tls_line(s, r"TLSv1\.3, cipher \S+, \d+ secret bits, ALPN http/1\.1",
                             "--alpn http/1.1")

        s = self.session(alpn, ["--alpn", "http/1.1,h2"])
        self.assert_pingpong_ok(s, "--alpn http/1.1,h2")
        self.assert_tls_line(s, r"TLSv1\.3, cipher \S+, \d+ secret bits, ALPN h2",
                             "s_server picks its own first choice")

        s = self.session(alpn)
        self.assert_pingpong_ok(s, "no --alpn")
        self.assert_tls_line(s, r"TLSv1\.3, cipher \S+, \d+ secret bits, ALPN none",
                             "no ALPN offered")

        # No overlap: OpenSSL 3.0's s_server does not just leave ALPN out --
        # its ALPN callback returns SSL_TLSEXT_ERR_ALERT_FATAL, so the
        # handshake ends with a no_application_protocol alert (RFC 7301 3.2).
        s = self.session(alpn, ["--alpn", "foo"])
        self.assert_client_failed(s, "no ALPN protocol in common", "--alpn foo")
        self.assertIn("no application protocol", s.err, s.describe())
        self.assertNotRegex(s.out, re.compile(r"^TLS ", re.M),
                            "a TLS line although the handshake failed\n" + s.describe())
        self.assert_server_said(s, r"no application protocol", "no common protocol")

    def test_tls12_and_cipher(self):
        """s_server -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256: the client
        prints TLSv1.2 and that cipher (s_server agrees); --ciphers with
        another cipher fails (nothing in common)."""
        cipher = "ECDHE-ECDSA-AES128-GCM-SHA256"
        tls12 = ("-tls1_2", "-cipher", cipher)

        s = self.session(tls12)
        self.assert_pingpong_ok(s, "-tls1_2 -cipher")
        self.assert_tls_line(s, rf"TLSv1\.2, cipher {cipher}, 128 secret bits, ALPN none",
                             "TLS 1.2 with the server's only cipher")
        self.assert_server_said(s, r"^Protocol version: TLSv1\.2$", "TLS 1.2")
        self.assert_server_said(s, rf"^Ciphersuite: {cipher}$", "the cipher")

        s = self.session(tls12, ["--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"])
        self.assert_client_failed(s, "no cipher suite or key-exchange group in common",
                                  "--ciphers without the server's cipher")
        self.assert_server_said(s, r"no shared cipher", "no shared cipher")

    def test_min_tls_1_3_against_tls12_server(self):
        """--min-tls 1.3 against s_server -tls1_2: exit 1, no TLS version in common."""
        s = self.session(("-tls1_2",), ["--min-tls", "1.3"])
        self.assert_client_failed(s, "no TLS version in common", "--min-tls 1.3 vs -tls1_2")
        self.assertNotRegex(s.out, re.compile(r"^TLS ", re.M), s.describe())
        self.assert_server_said(s, r"unsupported protocol", "s_server's view")

    def test_tls13_ciphersuites(self):
        """--ciphersuites TLS_CHACHA20_POLY1305_SHA256 is the suite both report."""
        suite = "TLS_CHACHA20_POLY1305_SHA256"
        s = self.session((), ["--ciphersuites", suite])
        self.assert_pingpong_ok(s, f"--ciphersuites {suite}")
        self.assert_tls_line(s, rf"TLSv1\.3, cipher {suite}, 256 secret bits, ALPN none", suite)
        self.assert_server_said(s, rf"^Ciphersuite: {suite}$", "the same suite")

    def test_server_name(self):
        """--servername wrong.example: exit 1, the name is not in the
        certificate's names; without --servername the address 127.0.0.1 is
        checked against the certificate's IP name and passes."""
        s = self.session(servername="wrong.example")
        self.assert_client_failed(
            s, "certificate verify failed: hostname 'wrong.example' not in certificate "
               "names [localhost, 127.0.0.1]", "--servername wrong.example")
        self.assertNotRegex(s.out, re.compile(r"^TLS ", re.M), s.describe())
        self.assertEqual(s.server_lines(), [], s.describe())

        s = self.session(servername=None)
        self.assert_pingpong_ok(s, "no --servername (127.0.0.1)")

    def test_ocsp_good(self):
        """s_server -status_file resp.der (`openssl ocsp`, signed by the CA,
        status good): --ocsp prints `OCSP good`, in TLS 1.3 and TLS 1.2;
        without --ocsp the TLS line has no OCSP part."""
        resp = make_ocsp_response(os.path.join(self.tmp.name, "good.der"),
                                  self.pki.server, self.pki.ca, self.pki.ca_key)
        staple = ("-status_file", resp)

        s = self.session(staple, ["--ocsp"])
        self.assert_pingpong_ok(s, "--ocsp, TLS 1.3")
        self.assert_tls_line(s, r"TLSv1\.3, cipher \S+, \d+ secret bits, ALPN none, OCSP good",
                             "a good staple in TLS 1.3")

        s = self.session(staple, ["--ocsp", "--max-tls", "1.2"])
        self.assert_pingpong_ok(s, "--ocsp, TLS 1.2")
        self.assert_tls_line(s, r"TLSv1\.2, cipher \S+, \d+ secret bits, ALPN none, OCSP good",
                             "a good staple in TLS 1.2")

        s = self.session(staple)
        self.assert_pingpong_ok(s, "no --ocsp")
        self.assert_tls_line(s, r"TLSv1\.3, cipher \S+, \d+ secret bits, ALPN none",
                             "no OCSP asked for")

    def test_ocsp_reported_not_enforced(self):
        """--ocsp reports, and still exits 0 (docs/defaults.md): `OCSP revoked`
        for a revoked staple, `OCSP invalid: ...` for one signed by another
        CA, `OCSP none` when nothing is stapled."""
        revoked = make_ocsp_response(os.path.join(self.tmp.name, "revoked.der"),
                                     self.pki.server, self.pki.ca, self.pki.ca_key,
                                     status="revoked")
        s = self.session(("-status_file", revoked), ["--ocsp"])
        self.assert_pingpong_ok(s, "revoked staple")
        self.assert_tls_line(s, r"TLSv1\.3, .*, OCSP revoked", "a revoked staple")

        forged = make_ocsp_response(os.path.join(self.tmp.name, "forged.der"),
                                    self.pki.server, self.pki.ca, self.pki.ca_key,
                                    signer=self.pki.ca2, signer_key=self.pki.ca2_key)
        s = self.session(("-status_file", forged), ["--ocsp"])
        self.assert_pingpong_ok(s, "staple signed by another CA")
        self.assert_tls_line(s, r"TLSv1\.3, .*, OCSP invalid: .+", "a forged staple")

        s = self.session((), ["--ocsp"])
        self.assert_pingpong_ok(s, "nothing stapled")
        self.assert_tls_line(s, r"TLSv1\.3, .*, OCSP none", "no staple")


if __name__ == "__main__":
    sys.exit(up.main())
