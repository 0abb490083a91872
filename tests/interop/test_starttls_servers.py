#!/usr/bin/python3
"""Interop tests: uptls's STARTTLS clients against real servers.

Usage:
    /usr/bin/python3 tests/interop/test_starttls_servers.py --uptls PATH [unittest args]

Each server comes from its Debian package, unmodified, with a throwaway
configuration and a certificate from `uptls cert` (tests/interop/
real_servers.py): Postfix and aiosmtpd (SMTP), Dovecot (LMTP, IMAP, POP3,
ManageSieve), INN (NNTP), slapd (LDAP),
PostgreSQL 15, MariaDB, Prosody (XMPP),
InspIRCd (IRC), vsftpd (FTP). `uptls connect --starttls PROTO` (or its URL form) must
upgrade, verify the certificate, show the capabilities the server gives
over TLS, and carry a session: a message delivered through Dovecot's LMTP
is found in the mailbox. Postfix and Dovecot need root (scripts/test runs
as root or with sudo); they are skipped otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # keep tests/interop free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uptls_process as up  # noqa: E402
import real_servers as rs  # noqa: E402
from starttls_support import HOST, make_pki, run  # noqa: E402
from uptls_process import PipeReader, start_process, stop_process  # noqa: E402

NEEDS_ROOT = unittest.skipUnless(rs.is_root(), "the daemon needs root")
EXAMPLES = None  # the directory of the example programs; from --examples


def connect(target, ca, *extra, input_text="QUIT\n"):
    return run([up.UPTLS, "connect", target, "--cafile", ca, "--servername", "localhost",
                *extra], input_text)


class RealServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="uptls-real-")
        cls.ca, cls.cert, cls.key = make_pki(os.path.join(cls.tmp, "pki"))
        os.chmod(cls.tmp, 0o755)
        os.chmod(os.path.join(cls.tmp, "pki"), 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, kind):
        server = kind(self.cert, self.key)
        self.addCleanup(server.stop)
        return server

    def assert_upgraded(self, done, server, clean_end=True):
        """clean_end: the server ends TLS with close_notify (else uptls connect
        reports the truncation with status 1, rightly)."""
        if clean_end:
            self.assertEqual(done.returncode, 0, done.stderr + server.log())
        self.assertIn("verified for localhost", done.stderr)
        self.assertRegex(done.stderr, r"Capabilities over TLS: ")


class SmtpServersTest(RealServerTest):
    @NEEDS_ROOT
    def test_postfix(self):
        postfix = self.start(rs.Postfix)
        done = connect(f"smtp://{HOST}:{postfix.port}", self.ca, "--crlf",
                       input_text="MAIL FROM:<a@localhost>\nRCPT TO:<b@localhost>\nDATA\n"
                                  "Subject: hi\n\nhello\n.\nQUIT\n")
        self.assert_upgraded(done, postfix)
        self.assertIn("Server greeting: localhost ESMTP Postfix (uptls interop)", done.stderr)
        capabilities = re.search(r"Capabilities over TLS: (.*)", done.stderr)[1]
        self.assertNotIn("STARTTLS", capabilities)
        self.assertIn("250 2.0.0 Ok: queued as", done.stdout)
        self.assertIn("221 2.0.0 Bye", done.stdout)

    def test_aiosmtpd(self):
        aiosmtpd = self.start(rs.Aiosmtpd)
        done = connect(f"{HOST}:{aiosmtpd.port}", self.ca, "--starttls", "smtp", "--crlf",
                       input_text="MAIL FROM:<a@localhost>\nRCPT TO:<b@localhost>\nDATA\n"
                                  "hello\n.\nQUIT\n")
        self.assert_upgraded(done, aiosmtpd)
        self.assertIn("250 Message accepted for delivery", done.stdout)
        self.assertIsNotNone(aiosmtpd.out.wait_for(r"message from a@localhost tls True", 10),
                             aiosmtpd.log())


class NntpServersTest(RealServerTest):
    @NEEDS_ROOT
    def test_inn(self):
        inn = rs.Inn(self.cert, self.key, self.ca)
        self.addCleanup(inn.stop)
        done = connect(f"nntp://{HOST}:{inn.port}", self.ca, "--crlf",
                       input_text="GROUP local.test\nQUIT\n")
        self.assert_upgraded(done, inn)
        capabilities = re.search(r"Capabilities over TLS: (.*)", done.stderr)[1]
        self.assertNotIn("STARTTLS", capabilities)
        self.assertIn("READER", capabilities)
        self.assertRegex(done.stdout, r"211 0 \d+ \d+ local.test")
        self.assertIn("205 ", done.stdout)


class LdapServersTest(RealServerTest):
    def test_slapd(self):
        slapd = rs.Slapd(self.cert, self.key, self.ca)
        self.addCleanup(slapd.stop)
        done = connect(f"ldap://{HOST}:{slapd.port}", self.ca, input_text="")
        self.assert_upgraded(done, slapd)
        capabilities = re.search(r"Capabilities over TLS: (.*)", done.stderr)[1]
        self.assertIn("supportedLDAPVersion: 3", capabilities)
        self.assertIn("supportedExtension: 1.3.6.1.4.1.1466.20037", capabilities)


class PostgresServersTest(RealServerTest):
    @NEEDS_ROOT
    def test_postgresql_15(self):
        postgres = rs.Postgres(self.cert, self.key, self.ca)
        self.addCleanup(postgres.stop)
        done = connect(f"{HOST}:{postgres.port}", self.ca, "--starttls", "postgres",
                       input_text="")
        self.assertEqual(done.returncode, 0, done.stderr + postgres.log())
        self.assertIn("verified for localhost", done.stderr)
        self.assertIn("TLS TLSv1.3", done.stderr)


class MysqlServersTest(RealServerTest):
    @NEEDS_ROOT
    def test_mariadb(self):
        mariadb = rs.Mariadb(self.cert, self.key, self.ca)
        self.addCleanup(mariadb.stop)
        done = connect(f"{HOST}:{mariadb.port}", self.ca, "--starttls", "mysql", input_text="")
        # MariaDB drops a client that sends no login without a close_notify,
        # which uptls connect reports (exit 1): the upgrade is what is checked.
        self.assertRegex(done.stderr, r"Server greeting: .*MariaDB")
        self.assertRegex(done.stderr, r"\* TLS TLSv1\.[23], cipher")
        self.assertIn("verified for localhost", done.stderr)


class FtpServersTest(RealServerTest):
    @NEEDS_ROOT
    def test_vsftpd(self):
        vsftpd = self.start(lambda cert, key: rs.Vsftpd(cert, key))
        done = connect(f"ftp://{HOST}:{vsftpd.port}", self.ca, "--crlf",
                       input_text="USER anonymous\nPASS x\nSIZE hello.txt\nQUIT\n")
        # vsftpd closes after QUIT without a close_notify.
        self.assert_upgraded(done, vsftpd, clean_end=False)
        self.assertIn("without a TLS close_notify", done.stderr)
        self.assertIn("230 Login successful.", done.stdout)
        self.assertIn("213 18", done.stdout)
        # vsftpd has no CCC (it answers 500), and it said so in its features.
        capabilities = re.search(r"Capabilities over TLS: (.*)", done.stderr)[1]
        self.assertIn("PROT", capabilities)
        self.assertNotIn("CCC", capabilities)

    @NEEDS_ROOT
    def test_vsftpd_protected_download(self):
        # The library's FtpClient and ftp::download (examples/ftp_fetch): a
        # file over a passive data connection with TLS (vsftpd forces it).
        if EXAMPLES is None:
            self.skipTest("--examples DIR not given")
        vsftpd = self.start(lambda cert, key: rs.Vsftpd(cert, key))
        done = run([os.path.join(EXAMPLES, "ftp_fetch"), "localhost", str(vsftpd.port), self.ca,
                    "anonymous", "x", "hello.txt"])
        self.assertEqual(done.returncode, 0, done.stderr + vsftpd.log())
        self.assertEqual(done.stdout, "hello from vsftpd\n")


class XmppServersTest(RealServerTest):
    @NEEDS_ROOT
    def test_prosody(self):
        prosody = self.start(lambda cert, key: rs.Prosody(cert, key))
        done = connect(f"xmpp://{HOST}:{prosody.port}", self.ca, input_text="")
        self.assert_upgraded(done, prosody)
        self.assertIn("Server greeting: stream from localhost", done.stderr)
        capabilities = re.search(r"Capabilities over TLS: (.*)", done.stderr)[1]
        self.assertIn("mechanisms", capabilities)
        self.assertIn("PLAIN", capabilities)
        self.assertNotIn("starttls", capabilities)


class IrcServersTest(RealServerTest):
    @NEEDS_ROOT
    def test_inspircd(self):
        ircd = self.start(lambda cert, key: rs.Inspircd(cert, key))
        # Registration completes when InspIRCd is ready: the session stays
        # open until the welcome arrives, then QUIT.
        proc = start_process([up.UPTLS, "connect", f"irc://{HOST}:{ircd.port}", "--cafile",
                              self.ca, "--servername", "localhost", "--crlf"],
                             stdin=subprocess.PIPE)
        out, err = PipeReader(proc.stdout), PipeReader(proc.stderr)
        try:
            proc.stdin.write(b"NICK alice\nUSER a 0 * :Alice\n")
            proc.stdin.flush()
            welcome = out.wait_for(r"^:irc\.localhost 001 alice :Welcome", 30)
            self.assertIsNotNone(welcome, out.snapshot() + err.snapshot() + ircd.log())
            proc.stdin.write(b"QUIT\n")
            proc.stdin.close()
            proc.wait(30)
        finally:
            stop_process(proc, readers=(out, err))
        self.assertIn("verified for localhost", err.text())
        self.assertRegex(err.text(), r"Capabilities over TLS: ")


@NEEDS_ROOT
class DovecotTest(RealServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot = rs.Dovecot(cls.cert, cls.key)

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.stop()
        super().tearDownClass()

    def test_imap(self):
        port = self.dovecot.ports["imap"]
        done = connect(f"imap://{HOST}:{port}", self.ca, "--crlf",
                       input_text="a LOGIN bob secret\nb SELECT INBOX\nc LOGOUT\n")
        self.assert_upgraded(done, self.dovecot)
        capabilities = re.search(r"Capabilities over TLS: (.*)", done.stderr)[1]
        self.assertIn("AUTH=PLAIN", capabilities)
        self.assertNotIn("STARTTLS", capabilities)
        self.assertNotIn("LOGINDISABLED", capabilities)
        self.assertIn("a OK", done.stdout)
        self.assertIn("b OK [READ-WRITE] Select completed", done.stdout)
        self.assertIn("c OK Logout completed", done.stdout)

    def test_pop3(self):
        port = self.dovecot.ports["pop3"]
        done = connect(f"pop3://{HOST}:{port}", self.ca, "--crlf",
                       input_text="USER carol\nPASS secret\nSTAT\nQUIT\n")
        self.assert_upgraded(done, self.dovecot)
        capabilities = re.search(r"Capabilities over TLS: (.*)", done.stderr)[1]
        self.assertIn("USER", capabilities)
        self.assertNotIn("STLS", capabilities)
        self.assertIn("+OK Logged in.", done.stdout)
        self.assertIn("+OK 0 0", done.stdout)

    def test_managesieve(self):
        port = self.dovecot.ports["sieve"]
        done = connect(f"{HOST}:{port}", self.ca, "--starttls", "sieve", "--crlf",
                       input_text='AUTHENTICATE "PLAIN" "AGRhdmUAc2VjcmV0"\nLISTSCRIPTS\n'
                                  'LOGOUT\n')
        self.assert_upgraded(done, self.dovecot)
        self.assertRegex(done.stderr, r"Server greeting: Dovecot.* Pigeonhole")
        capabilities = re.search(r"Capabilities over TLS: (.*)", done.stderr)[1]
        self.assertIn("SASL PLAIN", capabilities)
        self.assertNotIn("STARTTLS", capabilities)
        self.assertIn('OK "Logged in."', done.stdout)
        self.assertIn('OK "Logout completed."', done.stdout)

    def test_lmtp_delivers_over_tls(self):
        port = self.dovecot.ports["lmtp"]
        done = connect(f"{HOST}:{port}", self.ca, "--starttls", "lmtp", "--crlf",
                       input_text="MAIL FROM:<a@localhost>\nRCPT TO:<alice>\nDATA\n"
                                  "Subject: over uptls\n\nhello alice\n.\nQUIT\n")
        self.assert_upgraded(done, self.dovecot)
        self.assertRegex(done.stdout, r"250 2\.0\.0 <alice> \S+ Saved")
        messages = self.dovecot.maildir_messages("alice")
        self.assertTrue(any(b"hello alice" in m for m in messages), self.dovecot.log())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--examples")
    known, rest = parser.parse_known_args()
    EXAMPLES = os.path.abspath(known.examples) if known.examples else None
    sys.argv = [sys.argv[0]] + rest
    sys.exit(up.main())
