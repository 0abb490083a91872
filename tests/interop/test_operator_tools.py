#!/usr/bin/python3
"""Interop tests: the operator's commands connect, check, inspect, echo and cert.

Usage:
    /usr/bin/python3 tests/interop/test_operator_tools.py --uptls PATH [unittest args]

`uptls connect` (standard input and output over TLS) against `uptls serve
pingpong`, `openssl s_server`, seed 004's Twisted starttls_server (STARTTLS
answered with READY), seed 000's asyncio server (unmodified: nothing
answered) and a Python ssl server that answers only after the client's
half-close; `uptls check` and `uptls inspect` against `openssl s_server`
and Twisted, with their verdicts, JSON fields and exit statuses, and
`inspect --listen` against CPython's ssl; `uptls echo` against itself,
seed 004's Twisted starttls_client as published (CRLF lines) and CPython's
ssl; `uptls cert` files with `openssl verify`, `openssl s_server`, curl and
CPython's ssl, and `cert verify` worded as a handshake. Every peer runs on
127.0.0.1 and is stopped by PID.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # keep tests/interop free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_peers as sp  # noqa: E402
import uptls_process as up  # noqa: E402
from uptls_process import (  # noqa: E402
    HOST, STEP_TIMEOUT, PipeReader, start_process, start_uptls_serve, stop_process)

SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
PYTHON = "/usr/bin/python3"


def connect(port, *args, stdin=b"", timeout=60):
    """Run `uptls connect 127.0.0.1:PORT ARGS` with stdin; (rc, stdout bytes, stderr text)."""
    cmd = [up.UPTLS, "connect", f"{HOST}:{port}", *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")


class Peers(unittest.TestCase):
    """Temporary directory, certificates and peers started by PID."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="uptls-connect-")
        self.addCleanup(self.tmp.cleanup)

    def pki(self):
        return sp.make_openssl_pki(self.tmp.name)

    def start_peer(self, cmd, pattern, stdin=subprocess.DEVNULL):
        proc = start_process(cmd, stdin=stdin)
        out, err = PipeReader(proc.stdout), PipeReader(proc.stderr)
        self.addCleanup(stop_process, proc, readers=(out, err))
        found = out.wait_for(pattern, up.STARTUP_TIMEOUT) or err.wait_for(pattern, 0.1)
        if found is None:
            self.fail(f"{cmd} did not start\n{out.snapshot()}{err.snapshot()}")
        return found[1], out

    def twisted_seed004(self, pki):
        pem = os.path.join(self.tmp.name, "server.pem")
        with open(pem, "w") as out:
            for part in (pki["key"], pki["cert"]):
                with open(part) as f:
                    out.write(f.read())
        match, output = self.start_peer(
            [PYTHON, "-u", os.path.join(SEEDS, "seed004_starttls_server.py"), "0", pem],
            r"^listening on 127\.0\.0\.1:(\d+)$")
        return int(match.group(1)), output

    def openssl_s_server(self, pki):
        """`openssl s_server` on the pki's certificate; its standard input stays open."""
        if shutil.which("openssl") is None:
            self.skipTest(up.missing_peer("openssl"))
        cmd = ["openssl", "s_server", "-accept", f"{HOST}:0", "-cert", pki["cert"], "-key",
               pki["key"]]
        match, output = self.start_peer(cmd, r"^ACCEPT 127\.0\.0\.1:(\d+)$",
                                        stdin=subprocess.PIPE)
        return int(match.group(1)), output


class Connect(Peers):

    def test_implicit_tls_relays_both_ways_and_summarises(self):
        srv = start_uptls_serve(self, self.tmp.name, "--implicit-tls")
        rc, out, err = connect(srv.port, "--implicit-tls", "--cafile", srv.ca,
                               "--servername", "localhost", stdin=b"PING\nQUIT\n")
        self.assertEqual((rc, out), (0, b"PONG\n"), err)
        self.assertIn("verified for localhost", err)
        self.assertIn("TLSv1.3", err)
        self.assertIn("the server ended TLS (close_notify); 10 bytes sent, 5 received", err)

    def test_starttls_line_and_expect_against_twisted_seed004(self):
        pki = self.pki()
        port, output = self.twisted_seed004(pki)
        rc, out, err = connect(port, "--starttls-line", "STARTTLS", "--expect", "READY",
                               "--cafile", pki["ca_cert"], "--servername", "localhost",
                               stdin=b"PING\nsecure text\n")
        self.assertEqual((rc, out), (0, b"PONG\n"), err)
        self.assertIn("Received: READY", err)
        self.assertIsNotNone(output.wait_for(r"^received: secure text$", STEP_TIMEOUT),
                             output.snapshot())

    def test_expect_names_what_came_instead(self):
        srv = start_uptls_serve(self, self.tmp.name, "--starttls-reply", "NOT NOW")
        rc, out, err = connect(srv.port, "--starttls-line", "STARTTLS", "--expect", "READY",
                               "--cafile", srv.ca, "--servername", "localhost")
        self.assertEqual(rc, 1, err)
        self.assertIn("the server answered STARTTLS with 'NOT NOW', not 'READY'", err)

    def test_a_reply_without_expect_is_a_refusal_not_a_handshake(self):
        srv = start_uptls_serve(self, self.tmp.name, "--starttls-reply", "READY")
        rc, out, err = connect(srv.port, "--starttls-line", "STARTTLS", "--cafile", srv.ca,
                               "--servername", "localhost")
        self.assertEqual(rc, 1, err)
        self.assertIn("pass --expect 'READY'", err)

    def test_starttls_line_against_unmodified_seed000_server(self):
        """Seed 000's server answers nothing and loses bytes read with the
        STARTTLS line (CPython 3.11); --starttls-line alone works, 10 of 10."""
        pki = self.pki()
        match, _ = self.start_peer(
            [PYTHON, "-u", os.path.join(SEEDS, "seed000_server.py"), HOST, "0", pki["cert"],
             pki["key"], pki["ca_cert"]], r"^listening on 127\.0\.0\.1:(\d+)$")
        port = int(match.group(1))
        for i in range(10):
            rc, out, err = connect(port, "--starttls-line", "STARTTLS", "--cafile",
                                   pki["ca_cert"], "--servername", "localhost",
                                   stdin=b"PING\nQUIT\n")
            self.assertEqual((rc, out), (0, b"PONG\n"), f"session {i + 1}: {err}")

    def test_half_close_is_passed_on(self):
        """The end of standard input reaches the server as close_notify
        (after --eof-wait of quiet); the server answers after it, and the
        answer still arrives. The server is CPython's ssl on a blocking
        socket: asyncio's TLS has no half-close."""
        pki = self.pki()
        code = (
            "import socket, ssl\n"
            "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
            f"ctx.load_cert_chain({pki['cert']!r}, {pki['key']!r})\n"
            "listener = socket.create_server(('127.0.0.1', 0))\n"
            "print('listening on 127.0.0.1:%d' % listener.getsockname()[1], flush=True)\n"
            "raw, _ = listener.accept()\n"
            "conn = ctx.wrap_socket(raw, server_side=True)\n"
            "total = 0\n"
            "while True:\n"
            "    data = conn.recv(65536)\n"
            "    if not data:\n"
            "        break\n"
            "    total += len(data)\n"
            "conn.sendall(b'got %d bytes\\n' % total)\n"
            "conn.unwrap()\n"
            "raw.close()\n")
        match, _ = self.start_peer([PYTHON, "-u", "-c", code],
                                   r"^listening on 127\.0\.0\.1:(\d+)$")
        rc, out, err = connect(int(match.group(1)), "--implicit-tls", "--cafile",
                               pki["ca_cert"], "--servername", "localhost", "--eof-wait", "0.2",
                               stdin=b"x" * 100_000)
        self.assertEqual(out, b"got 100000 bytes\n", err)
        self.assertEqual(rc, 0, err)

    def test_openssl_s_server_receives_what_standard_input_sends(self):
        pki = self.pki()
        port, output = self.openssl_s_server(pki)
        rc, out, err = connect(port, "--implicit-tls", "--cafile",
                               pki["ca_cert"], "--servername", "localhost",
                               stdin=b"hello from uptls\n")
        self.assertIsNotNone(output.wait_for(r"^hello from uptls$", STEP_TIMEOUT),
                             output.snapshot() + err)

    def test_an_untrusted_server_is_refused_with_the_reason(self):
        srv = start_uptls_serve(self, self.tmp.name, "--implicit-tls")
        other = self.pki()
        rc, out, err = connect(srv.port, "--implicit-tls", "--cafile", other["ca_cert"],
                               "--servername", "localhost", stdin=b"PING\n")
        self.assertEqual((rc, out), (1, b""), err)
        self.assertIn("certificate verify failed", err)


def check(address, *args):
    """Run `uptls check ADDRESS ARGS`; (rc, stdout, stderr)."""
    proc = subprocess.run([up.UPTLS, "check", address, *args], capture_output=True, text=True,
                          timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def check_without_address():
    proc = subprocess.run([up.UPTLS, "check"], capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


class Check(Peers):

    def test_verdicts_and_exit_statuses_against_openssl_s_server(self):
        pki = self.pki()
        port, _ = self.openssl_s_server(pki)
        address = f"{HOST}:{port}"
        rc, out, err = check(address, "--cafile", pki["ca_cert"], "--servername", "localhost")
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"^OK: <Certificate Subject=CN=localhost Issuer=CN=uptls interop "
                              r"test CA Names=\[localhost, 127\.0\.0\.1, ::1\] Expires=.* GMT>\n$")
        # The monitoring plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, each
        # with one line that starts with its word.
        rc, out, err = check(address, "--cafile", pki["ca_cert"], "--servername", "other.example")
        self.assertEqual(rc, 2, out + err)
        self.assertRegex(out, r"^CRITICAL: certificate verify failed: hostname 'other\.example' "
                              r"not in certificate names .*\n$")
        other = sp.make_openssl_pki(tempfile.mkdtemp(dir=self.tmp.name))
        rc, out, err = check(address, "--cafile", other["ca_cert"], "--servername", "localhost")
        self.assertEqual(rc, 2, out + err)
        self.assertIn("CRITICAL: certificate verify failed: unable to get local issuer", out)
        # The certificates of the test PKI are valid for 2 days.
        rc, out, err = check(address, "--cafile", pki["ca_cert"], "--servername", "localhost",
                             "--warn-days", "30", "--perfdata")
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"^WARNING: expires in [0-2] days \(under 30\): <Certificate .*> "
                              r"\| days_left=[0-2]\.\dd;30;0\n$")
        rc, out, err = check(address, "--cafile", pki["ca_cert"], "--servername", "localhost",
                             "--warn-days", "1", "--perfdata")
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"^OK: <Certificate .*> \| days_left=[12]\.\dd;1;0\n$")

    def test_options_the_check_cannot_run_with_are_unknown(self):
        for args in (["--no-such-option"], ["--cafile", os.path.join(self.tmp.name, "missing")],
                     ["--warn-days", "-1"], []):
            with self.subTest(args=args):
                rc, out, err = check(f"{HOST}:1", *args) if args else check_without_address()
                self.assertEqual(rc, 3, out + err)
                self.assertRegex(out, r"^UNKNOWN: .+\n$")

    def test_a_connection_failure_is_critical(self):
        with socket.socket() as unused:
            unused.bind((HOST, 0))
            port = unused.getsockname()[1]
        rc, out, err = check(f"{HOST}:{port}")
        self.assertEqual(rc, 2, out + err)
        self.assertRegex(out, r"^CRITICAL: connecting to 127\.0\.0\.1 port \d+: .*\n$")

    def test_starttls_line_against_twisted_seed004(self):
        pki = self.pki()
        port, _ = self.twisted_seed004(pki)
        rc, out, err = check(f"{HOST}:{port}", "--starttls-line", "STARTTLS", "--expect", "READY",
                             "--cafile", pki["ca_cert"], "--servername", "localhost")
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(out.startswith("OK: <Certificate Subject=CN=localhost"), out)

    def test_a_silent_server_ends_with_the_step_it_was_waiting_for(self):
        """A server that accepts and says nothing holds no client: check, inspect and
        connect end after --timeout, naming the step (issue 16, item 4)."""
        with socket.socket() as silent:
            silent.bind((HOST, 0))
            silent.listen(8)
            port = silent.getsockname()[1]
            rc, out, err = check(f"{HOST}:{port}", "--starttls", "smtp", "--timeout", "2")
            self.assertEqual(rc, 2, out + err)
            self.assertIn("smtp: no greeting from the server within 2 s", out + err)
            rc, out, err = inspect(f"{HOST}:{port}", "--starttls", "imap", "--timeout", "1.5")
            self.assertNotEqual(rc, 0, out + err)
            self.assertIn("imap: no greeting from the server within 1500 ms", out + err)
            rc, _, err = connect(port, "--starttls", "pop3", "--timeout", "1")
            self.assertEqual(rc, 1, err)
            self.assertIn("pop3: no greeting from the server within 1 s", err)
            # An implicit-TLS server that never answers the ClientHello.
            rc, out, err = check(f"{HOST}:{port}", "--timeout", "1")
            self.assertEqual(rc, 2, out + err)
            self.assertIn("did not finish within 1000 ms", out + err)

    def test_weak_chains_get_the_handshakes_verdict_from_cert_verify_and_check(self):
        """`cert verify` runs at the handshake's security level (Debian's 2): a chain
        that every handshake refuses is INVALID, with the handshake's words."""
        cases = {
            "rsa1024-ca": (dict(ca_key=("-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024")),
                           "CA certificate key too weak"),
            "sha1-leaf": (dict(leaf_digest="sha1"), "CA signature digest algorithm too weak"),
            "p192-leaf": (dict(leaf_key=("-algorithm", "EC", "-pkeyopt",
                                         "ec_paramgen_curve:prime192v1")),
                          "EE certificate key too weak"),
        }
        for name, (kinds, words) in cases.items():
            with self.subTest(name):
                directory = os.path.join(self.tmp.name, name)
                os.mkdir(directory)
                pki = sp.make_openssl_pki(directory, **kinds)
                proc = subprocess.run([up.UPTLS, "cert", "verify", pki["cert"], "--cafile",
                                       pki["ca_cert"], "--name", "localhost"],
                                      capture_output=True, text=True, timeout=30)
                self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
                self.assertIn(f"INVALID: certificate verify failed: {words}", proc.stdout)
                # The same chain through a handshake: s_server at security level 0 serves it
                # (TLS 1.2: P-192 has no TLS 1.3 signature scheme).
                match, _ = self.start_peer(
                    ["openssl", "s_server", "-accept", f"{HOST}:0", "-cert", pki["cert"],
                     "-key", pki["key"], "-cipher", "DEFAULT@SECLEVEL=0", "-tls1_2"],
                    r"^ACCEPT 127\.0\.0\.1:(\d+)$", stdin=subprocess.PIPE)
                rc, out, err = check(f"{HOST}:{match.group(1)}", "--cafile", pki["ca_cert"],
                                     "--servername", "localhost")
                self.assertEqual(rc, 2, out + err)
                if name != "p192-leaf":  # the client offers no P-192: no handshake at all
                    self.assertIn(f"CRITICAL: certificate verify failed: {words}", out)

    def test_cert_verify_refuses_a_name_as_ip_and_takes_crls(self):
        pki = self.pki()
        proc = subprocess.run([up.UPTLS, "cert", "verify", pki["cert"], "--cafile",
                               pki["ca_cert"], "--ip", "localhost"],
                              capture_output=True, text=True, timeout=30)
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        self.assertIn("'localhost' is not an IP address", proc.stderr + proc.stdout)
        proc = subprocess.run([up.UPTLS, "cert", "verify", pki["cert"], "--cafile",
                               pki["ca_cert"], "--ip", "::1"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        # A CRL from the CA that revokes the leaf.
        directory = self.tmp.name
        index = os.path.join(directory, "index.txt")
        open(index, "w").close()
        with open(os.path.join(directory, "crlnumber"), "w") as f:
            f.write("01\n")
        conf = os.path.join(directory, "crl.cnf")
        with open(conf, "w") as f:
            f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\n"
                    "default_md = sha256\ndefault_crl_days = 2\n")
        for args in (["-revoke", pki["cert"]], ["-gencrl", "-out", "crl.pem"]):
            subprocess.run(["openssl", "ca", "-config", conf, "-cert", pki["ca_cert"],
                            "-keyfile", pki["ca_key"], *args], cwd=directory, check=True,
                           capture_output=True, timeout=30)
        proc = subprocess.run([up.UPTLS, "cert", "verify", pki["cert"], "--cafile",
                               pki["ca_cert"], "--name", "localhost", "--crl",
                               os.path.join(directory, "crl.pem")],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("certificate revoked", proc.stdout)

    def test_the_default_timeout_is_short_for_monitoring(self):
        for command in ("check", "inspect"):
            proc = subprocess.run([up.UPTLS, command, "--help"], capture_output=True, text=True,
                                  timeout=30)
            self.assertRegex(proc.stdout, r"--timeout FLOAT:NONNEGATIVE=30\s", command)


def inspect(*args):
    """Run `uptls inspect ARGS`; (rc, stdout, stderr)."""
    proc = subprocess.run([up.UPTLS, "inspect", *args], capture_output=True, text=True,
                          timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


class Inspect(Peers):

    def test_report_against_openssl_s_server_tls12_by_its_json_fields(self):
        pki = self.pki()
        port, _ = self.openssl_s_server(pki)
        rc, out, err = inspect(f"{HOST}:{port}", "--cafile", pki["ca_cert"], "--servername",
                               "localhost", "--max-tls", "1.2", "--json")
        self.assertEqual(rc, 0, out + err)
        report = json.loads(out)
        self.assertEqual(report["peer_certificate"], "provided")
        self.assertEqual(report["names"], "localhost, 127.0.0.1, ::1")
        self.assertTrue(report["name_matches"])
        self.assertTrue(report["verified"])
        self.assertEqual(report["verification"], "verified for localhost")
        self.assertEqual((report["trust_x509"], report["trust_x509_ca"], report["trust_crl"]),
                         (1, 1, 0), "the --cafile CA, loaded")
        self.assertEqual(report["protocol"], "TLSv1.2")
        self.assertEqual(report["cipher"], "ECDHE-ECDSA-AES256-GCM-SHA384")
        self.assertEqual(report["cipher_version"], "TLSv1.2")
        self.assertEqual(report["secret_bits"], 256)
        self.assertEqual(report["compression"], "none")
        self.assertEqual(report["group"], "x25519")
        self.assertEqual(report["peer_signature"], "ECDSA+SHA256")
        self.assertFalse(report["resumed"])
        self.assertEqual([c["subject"] for c in report["chain"]], ["CN=localhost"])
        self.assertEqual(report["chain"][0]["key"], "EC P-256")
        self.assertEqual(report["chain"][0]["issuer"], "CN=uptls interop test CA")

    def test_an_untrusted_or_misnamed_server_is_still_inspected(self):
        pki = self.pki()
        port, _ = self.openssl_s_server(pki)
        other = sp.make_openssl_pki(tempfile.mkdtemp(dir=self.tmp.name))
        rc, out, err = inspect(f"{HOST}:{port}", "--cafile", other["ca_cert"], "--servername",
                               "wrong.example", "--json")
        self.assertEqual(rc, 1, out + err)
        report = json.loads(out)
        self.assertFalse(report["verified"])
        self.assertFalse(report["name_matches"])
        self.assertIn("certificate verify failed: unable to get local issuer certificate",
                      report["verification"])
        self.assertEqual(report["protocol"], "TLSv1.3", "the session was inspected anyway")
        rc, out, err = inspect(f"{HOST}:{port}", "--cafile", pki["ca_cert"], "--servername",
                               "wrong.example")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("Whether name(s) match the hostname.. no", out)
        self.assertIn("hostname 'wrong.example' not in certificate names [localhost, 127.0.0.1, "
                      "::1]", out)

    def test_starttls_line_against_twisted_seed004(self):
        pki = self.pki()
        port, _ = self.twisted_seed004(pki)
        rc, out, err = inspect(f"{HOST}:{port}", "--starttls-line", "STARTTLS", "--expect",
                               "READY", "--cafile", pki["ca_cert"], "--servername", "localhost")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Certificate verified................ yes", out)
        self.assertIn("Protocol version negotiated......... TLSv1.", out)

    def test_listen_reports_each_client_as_python_sees_it(self):
        proc = start_process([up.UPTLS, "inspect", "--listen", f"{HOST}:0", "--ca-out",
                              os.path.join(self.tmp.name, "ca.pem"), "--json"])
        out, err = PipeReader(proc.stdout), PipeReader(proc.stderr)
        self.addCleanup(stop_process, proc, readers=(out, err))
        found = err.wait_for(r"^uptls inspect: listening on 127\.0\.0\.1:(\d+) "
                             r"\(reporting clients, \d+ threads?\)$", up.STARTUP_TIMEOUT)
        self.assertIsNotNone(found, err.snapshot())
        port = int(found[1].group(1))
        ctx = sp.client_context(os.path.join(self.tmp.name, "ca.pem"))
        with socket.create_connection((HOST, port), STEP_TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                seen = (tls.version(), tls.cipher()[0], tls.cipher()[2],
                        tls.getsockname()[1])
                tls.settimeout(STEP_TIMEOUT)
                self.assertEqual(tls.recv(1), b"", "the server ends the session after its report")
        line = out.wait_for(r"^\{", STEP_TIMEOUT)
        self.assertIsNotNone(line, out.snapshot() + err.snapshot())
        report = json.loads(out.snapshot().splitlines()[line[0]])
        self.assertEqual(report["interface"], f"{HOST}:{port}")
        self.assertEqual(report["client"], f"{HOST}:{seen[3]}")
        self.assertEqual(report["peer_certificate"], "none")
        self.assertEqual((report["protocol"], report["cipher"], report["secret_bits"]),
                         seen[:3])
        self.assertEqual(report["compression"], "none")


class Echo(Peers):

    def start_echo(self, *args):
        ca = os.path.join(self.tmp.name, "echo-ca.pem")
        match, output = self.start_peer(
            [up.UPTLS, "serve", "echo", "--listen", f"{HOST}:0", "--ca-out", ca, *args],
            r"^listening on 127\.0\.0\.1:(\d+) \(echo, \d+ threads?\)$")
        return int(match.group(1)), ca, output

    def test_echo_client_and_server_with_starttls_and_ready(self):
        port, ca, output = self.start_echo("--starttls-line", "STARTTLS", "--starttls-reply",
                                           "READY")
        proc = subprocess.run(
            [up.UPTLS, "client", "echo", f"{HOST}:{port}", "--starttls-line", "STARTTLS",
             "--expect", "READY", "--cafile", ca, "--servername", "localhost", "--line", "one",
             "--line", "two words"], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("echoed: one\nechoed: two words\n", proc.stdout)
        self.assertIsNotNone(output.wait_for(r"^received: two words$", STEP_TIMEOUT))

    @unittest.skipUnless(importlib.util.find_spec("twisted"), up.missing_peer("python3-twisted"))
    def test_twisted_seed004_client_as_published_against_echo_serve(self):
        """The seed's client speaks CRLF lines (LineReceiver's own); the
        server answers READY with the same line end and echoes over TLS."""
        port, ca, output = self.start_echo("--starttls-line", "STARTTLS", "--starttls-reply",
                                           "READY")
        proc = subprocess.run(
            [PYTHON, os.path.join(SEEDS, "seed004_starttls_client.py"), str(port), ca, "crlf"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("received: READY", proc.stdout)
        self.assertIsNotNone(output.wait_for(r"^received: secure text$", STEP_TIMEOUT),
                             output.snapshot())
        log = output.snapshot()
        self.assertLess(log.index("-- Switching to TLS"), log.index("received: secure text"))

    def test_required_client_certificate_with_openssl_s_client(self):
        """`serve echo --require-client-cert`: s_client with a certificate from
        `uptls cert` is echoed; without one it gets no session."""
        if shutil.which("openssl") is None:
            self.skipTest(up.missing_peer("openssl"))
        ca_dir = os.path.join(self.tmp.name, "clients")
        for args in (("ca", "--dir", ca_dir), ("issue", "alice", "--client", "--dir", ca_dir)):
            rc, out, err = cert(*args)
            self.assertEqual(rc, 0, out + err)
        port, ca, output = self.start_echo("--implicit-tls", "--require-client-cert",
                                           "--client-ca", os.path.join(ca_dir, "ca.pem"))
        base = ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-CAfile", ca,
                "-verify_return_error", "-verify_hostname", "localhost", "-quiet"]
        with_cert = subprocess.run(
            base + ["-cert", os.path.join(ca_dir, "alice-client.pem"), "-key",
                    os.path.join(ca_dir, "alice-client-key.pem")],
            input=b"from alice\nQUIT\n", capture_output=True, timeout=60)
        self.assertIn(b"from alice\n", with_cert.stdout, with_cert.stderr)
        self.assertIsNotNone(output.wait_for(r"client certificate CN=alice", STEP_TIMEOUT),
                             output.snapshot())
        without = subprocess.run(base, input=b"anonymous\nQUIT\n", capture_output=True,
                                 timeout=60)
        self.assertNotIn(b"anonymous", without.stdout)
        self.assertIsNone(output.wait_for(r"^received: anonymous$", 1.0))

    def test_implicit_tls_echo_against_python_ssl(self):
        port, ca, _ = self.start_echo("--implicit-tls")
        ctx = sp.client_context(ca)
        with socket.create_connection((HOST, port), STEP_TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.settimeout(STEP_TIMEOUT)
                tls.sendall(b"first\nsecond\r\n")
                got = b""
                while got.count(b"\n") < 2:
                    got += tls.recv(100)
                self.assertEqual(got, b"first\nsecond\r\n", "each line with its own end")
                tls.sendall(b"QUIT\n")
                self.assertEqual(tls.recv(100), b"")


class Serving(Peers):
    """Every serving command runs one way: the same listening line, SIGHUP
    reloads (or is ignored) and never kills, SIGINT and SIGTERM stop it
    gracefully, even when sent the moment the line is read."""

    COMMANDS = {
        "serve pingpong": (["serve", "pingpong"], True),
        "serve smtp": (["serve", "smtp"], True),
        "serve echo": (["serve", "echo", "--implicit-tls"], True),
        "inspect --listen": (["inspect"], True),
        "proxy": (["proxy"], False),
    }

    def start(self, name, *extra):
        args, has_certificate = self.COMMANDS[name]
        listen = ["--listen", f"{HOST}:0"]
        if has_certificate:
            listen += ["--ca-out", os.path.join(self.tmp.name, name.replace(" ", "-") + ".pem")]
        proc = start_process([up.UPTLS, *args, *listen, *extra])
        out, err = PipeReader(proc.stdout), PipeReader(proc.stderr)
        self.addCleanup(stop_process, proc, readers=(out, err))
        pattern = r"listening on 127\.0\.0\.1:(\d+) \((?:[a-z ]+, )?(\d+) threads?\)$"
        found = out.wait_for(pattern, up.STARTUP_TIMEOUT) or err.wait_for(pattern, 0.1)
        self.assertIsNotNone(found, f"{name} did not start\n{out.snapshot()}{err.snapshot()}")
        return proc, out, err, found[1]

    def test_a_signal_the_moment_the_server_listens_stops_it_gracefully(self):
        for name in self.COMMANDS:
            for stop in (signal.SIGTERM, signal.SIGINT):
                with self.subTest(name=name, signal=stop.name):
                    proc, out, err, _ = self.start(name)
                    proc.send_signal(stop)
                    self.assertEqual(proc.wait(STEP_TIMEOUT), 0, err.snapshot())

    def test_sighup_reloads_or_is_ignored_and_threads_are_chosen(self):
        for name, (_, has_certificate) in self.COMMANDS.items():
            with self.subTest(name=name):
                proc, out, err, listening = self.start(name, "--threads", "3")
                self.assertEqual(listening.group(2), "3")
                proc.send_signal(signal.SIGHUP)
                if has_certificate:
                    self.assertIsNotNone(out.wait_for(r"^reloaded the TLS configuration$",
                                                      STEP_TIMEOUT), out.snapshot())
                else:
                    self.assertIsNotNone(err.wait_for(r"^uptls proxy: SIGHUP: no certificate "
                                                      r"to reload$", STEP_TIMEOUT),
                                         err.snapshot())
                self.assertIsNone(proc.poll(), "SIGHUP ended " + name)
                code, killed = stop_process(proc, readers=(out, err))
                self.assertEqual((code, killed), (0, False), err.snapshot())


class KeptCa(Peers):
    """`serve --ca-out FILE` and `proxy --ca-out FILE`: one rule. The CA is
    made on the first run (FILE, and its key in FILE.key, owner only) and
    reused after; a FILE without its key is refused, never replaced."""

    def test_serve_makes_its_ca_once_and_reuses_it(self):
        ca = os.path.join(self.tmp.name, "ca.pem")
        first = start_uptls_serve(self, self.tmp.name, "--ca-out", ca, ca_out=False)
        with open(ca) as f:
            made = f.read()
        self.assertEqual(os.stat(ca + ".key").st_mode & 0o777, 0o600)
        second = start_uptls_serve(self, self.tmp.name, "--ca-out", ca, ca_out=False)
        with open(ca) as f:
            self.assertEqual(f.read(), made, "the second run kept the CA")
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["ca.pem", "ca.pem.key"])
        ctx = sp.client_context(ca)
        for server in (first, second):
            up.run_async(sp.seed_client_session(server.host, server.port, ctx, "localhost"), 60)

    def test_a_ca_file_without_its_key_is_refused_by_serve_and_proxy(self):
        ca = os.path.join(self.tmp.name, "ca.pem")
        with open(ca, "w") as f:
            f.write("a CA that clients trust\n")
        for cmd in (["serve", "pingpong", "--listen", f"{HOST}:0", "--ca-out", ca],
                    ["proxy", "--listen", f"{HOST}:0", "--intercept", "--ca-out", ca]):
            proc = subprocess.run([up.UPTLS, *cmd], capture_output=True, text=True,
                                  timeout=60, stdin=subprocess.DEVNULL)
            self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertIn(f"'{ca}' exists but '{ca}.key' does not", proc.stderr)
            with open(ca) as f:
                self.assertEqual(f.read(), "a CA that clients trust\n", cmd[0])
            self.assertFalse(os.path.exists(ca + ".key"), cmd[0])

    def test_a_planted_key_symlink_is_refused(self):
        ca = os.path.join(self.tmp.name, "ca.pem")
        planted = os.path.join(self.tmp.name, "planted")
        os.symlink(planted, ca + ".key")
        proc = subprocess.run([up.UPTLS, "serve", "pingpong", "--listen", f"{HOST}:0",
                               "--ca-out", ca], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("exists but", proc.stderr)
        self.assertFalse(os.path.exists(planted), "nothing written through the symlink")
        self.assertFalse(os.path.exists(ca))


def cert(*args):
    """Run `uptls cert ARGS`; (rc, stdout, stderr)."""
    proc = subprocess.run([up.UPTLS, "cert", *args], capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


class Cert(Peers):
    """`uptls cert`: its files work with openssl, curl and Python's ssl."""

    def make_ca(self):
        ca_dir = os.path.join(self.tmp.name, "ca")
        rc, out, err = cert("ca", "--dir", ca_dir)
        self.assertEqual(rc, 0, out + err)
        rc, out, err = cert("issue", "localhost", "127.0.0.1", "--dir", ca_dir)
        self.assertEqual(rc, 0, out + err)
        rc, out, err = cert("issue", "alice", "--client", "--dir", ca_dir)
        self.assertEqual(rc, 0, out + err)
        return ca_dir

    def test_files_keys_private_and_nothing_overwritten(self):
        ca_dir = self.make_ca()
        for key in ("ca-key.pem", "localhost-key.pem", "alice-client-key.pem"):
            mode = os.stat(os.path.join(ca_dir, key)).st_mode & 0o777
            self.assertEqual(mode, 0o600, f"{key} is readable by its owner only")
        with open(os.path.join(ca_dir, "ca.pem")) as f:
            before = f.read()
        rc, out, err = cert("ca", "--dir", ca_dir)
        self.assertEqual(rc, 2)
        self.assertIn("exists; pass --force to overwrite it", err)
        with open(os.path.join(ca_dir, "ca.pem")) as f:
            self.assertEqual(f.read(), before)
        for leaf, purpose in (("localhost.pem", "sslserver"), ("alice-client.pem", "sslclient")):
            proc = subprocess.run(["openssl", "verify", "-purpose", purpose, "-CAfile",
                                   os.path.join(ca_dir, "ca.pem"), os.path.join(ca_dir, leaf)],
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_a_planted_symlink_never_receives_a_key(self):
        ca_dir = self.make_ca()
        victim = os.path.join(self.tmp.name, "victim")
        with open(victim, "w") as f:
            f.write("not a key\n")
        key = os.path.join(ca_dir, "ca-key.pem")
        os.remove(key)
        os.symlink(victim, key)
        rc, out, err = cert("ca", "--dir", ca_dir, "--force")
        self.assertEqual(rc, 0, out + err)
        with open(victim) as f:
            self.assertEqual(f.read(), "not a key\n", "the symlink's target is untouched")
        self.assertFalse(os.path.islink(key), "the symlink was replaced by the key itself")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        # Without --force a dangling symlink is an existing name: refused, and
        # nothing is created where it points.
        leaf_key = os.path.join(ca_dir, "localhost-key.pem")
        os.remove(leaf_key)
        os.symlink(os.path.join(self.tmp.name, "planted"), leaf_key)
        rc, out, err = cert("issue", "localhost", "--dir", ca_dir)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("exists; pass --force to overwrite it", err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "planted")))
        self.assertEqual([n for n in os.listdir(ca_dir) if ".tmp-" in n], [],
                         "no temporary file left behind")

    def test_curl_and_python_trust_a_server_certificate_and_its_client_certificate(self):
        if shutil.which("curl") is None:
            self.skipTest(up.missing_peer("curl"))
        ca_dir = self.make_ca()
        ca = os.path.join(ca_dir, "ca.pem")
        cmd = ["openssl", "s_server", "-accept", f"{HOST}:0", "-www", "-cert",
               os.path.join(ca_dir, "localhost.pem"), "-key",
               os.path.join(ca_dir, "localhost-key.pem"), "-Verify", "1", "-CAfile", ca]
        match, _ = self.start_peer(cmd, r"^ACCEPT 127\.0\.0\.1:(\d+)$", stdin=subprocess.PIPE)
        port = int(match.group(1))
        proc = subprocess.run(
            ["curl", "--silent", "--show-error", "--max-time", "30", "--cacert", ca, "--cert",
             os.path.join(ca_dir, "alice-client.pem"), "--key",
             os.path.join(ca_dir, "alice-client-key.pem"), f"https://localhost:{port}/"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Ciphers supported in s_server binary", proc.stdout)
        ctx = sp.client_context(ca)
        ctx.load_cert_chain(os.path.join(ca_dir, "alice-client.pem"),
                            os.path.join(ca_dir, "alice-client-key.pem"))
        with socket.create_connection((HOST, port), STEP_TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                self.assertEqual(tls.getpeercert()["subject"], ((("commonName", "localhost"),),))

    def test_verify_gives_the_verdict_and_words_of_a_handshake(self):
        ca_dir = self.make_ca()
        ca = os.path.join(ca_dir, "ca.pem")
        leaf = os.path.join(ca_dir, "localhost.pem")
        rc, out, err = cert("verify", leaf, "--cafile", ca, "--name", "localhost")
        self.assertEqual((rc, out), (0, "OK: verified for localhost\n"), err)
        rc, out, err = cert("verify", leaf, "--cafile", ca, "--ip", "127.0.0.1")
        self.assertEqual(rc, 0, out + err)
        rc, verify_out, err = cert("verify", leaf, "--cafile", ca, "--name", "other.example")
        self.assertEqual(rc, 1, verify_out + err)
        rc, out, err = cert("verify", leaf, "--cafile", ca, "--name", "localhost", "--at",
                            "2035-01-01")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("INVALID: certificate verify failed: certificate has expired", out)
        rc, out, err = cert("verify", os.path.join(ca_dir, "alice-client.pem"), "--cafile", ca)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("unsuitable certificate purpose", out)
        # The same words as a handshake with that certificate (uptls check).
        srv = start_uptls_serve(self, self.tmp.name, "--implicit-tls", "--cert", leaf, "--key",
                                os.path.join(ca_dir, "localhost-key.pem"), ca_out=False)
        rc, check_out, err = check(f"{HOST}:{srv.port}", "--cafile", ca, "--servername",
                                   "other.example")
        self.assertEqual(rc, 2, check_out + err)  # CRITICAL
        reason = "certificate verify failed: hostname 'other.example' not in certificate " \
                 "names [localhost, 127.0.0.1]"
        self.assertEqual(verify_out, f"INVALID: {reason}\n")
        self.assertEqual(check_out, f"CRITICAL: {reason}\n")


if __name__ == "__main__":
    sys.exit(up.main())
