#!/usr/bin/python3
"""Interop tests: STARTTLS protocols with real clients, and the EAST cases.

Usage:
    /usr/bin/python3 tests/interop/test_starttls.py --uptls PATH [unittest args]

Real clients against `uptls serve PROTO` (each verifying the certificate
made by --ca-out): openssl s_client -starttls PROTO -verify_return_error,
gnutls-cli --starttls-proto, curl --ssl-reqd, swaks and Python's standard
library clients. Then the EAST cases of the 2021 "NO STARTTLS" study, both
roles: commands pipelined after STARTTLS (the server refuses them and says
so), responses injected after the go-ahead, STARTTLS stripped from the
capabilities or refused (uptls connect stops and quotes the server, or goes
on loudly with --opportunistic), and capabilities that must be asked for
again over TLS. Every process runs on 127.0.0.1 and is stopped by PID.
"""

from __future__ import annotations

import ftplib
import io
import json
import imaplib
import os
import socket
import warnings
import poplib
import re
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.dont_write_bytecode = True  # keep tests/interop free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uptls_process as up  # noqa: E402
from starttls_support import (HOST, Line, ScriptedServer, Served, make_pki, read_line,  # noqa: E402
                              run)
from uptls_process import PipeReader, TlsFront, start_process, stop_process  # noqa: E402

MESSAGE = "From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n"


def s_client(protocol, port, ca, script, *extra):
    """openssl s_client -starttls PROTO, verifying localhost, with a script on stdin."""
    return run(["openssl", "s_client", "-starttls", protocol, "-connect", f"{HOST}:{port}",
                "-CAfile", ca, "-verify_return_error", "-verify_hostname", "localhost",
                "-quiet", *extra], script)


def gnutls_cli(protocol, port, ca, script):
    """gnutls-cli --starttls-proto, verifying localhost, with a script on stdin.

    gnutls-cli ends its session at the end of input, so the script is given
    line by line, each once the server has answered the previous one."""
    proc = subprocess.Popen(
        ["gnutls-cli", f"--starttls-proto={protocol}", "--x509cafile", ca, "-p", str(port),
         "localhost"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        out, err = proc.communicate(script, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def uptls_connect(*args, input_text=""):
    return run([up.UPTLS, "connect", *args], input_text)


def smtp_context(ca):
    return ssl.create_default_context(cafile=ca)


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """ftplib's FTP_TLS whose data connections resume the control
    connection's TLS session (RFC 4217 §10.2), which vsftpd and uptls
    require by default; the class as shipped does not (CPython bpo-19500)."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size

class ServedCase(unittest.TestCase):
    """Tests against a `uptls serve PROTOCOL` started for each test (none
    when protocol is None), with a CA of its own."""

    protocol = None
    serve_args = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="uptls-starttls-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if self.protocol:
            self.server = Served(self, self.protocol, self.tmp, *self.serve_args)
            self.addCleanup(self.server.stop)


class SmtpServerTest(ServedCase):
    """Real SMTP clients against `uptls serve smtp`."""

    protocol = "smtp"
    serve_args = ("--hostname", "mx.test")

    def test_openssl_s_client(self):
        script = ("EHLO client.test\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.org>\nDATA\n"
                  + MESSAGE.replace("\r\n", "\n") + ".\nQUIT\n")
        done = s_client(self.protocol, self.server.port, self.server.ca, script)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("250 2.0.0 Ok: message 1 accepted and discarded", done.stdout)
        self.assertIn("221 2.0.0 Bye", done.stdout)
        self.server.wait_log(r"mail from <a@example.org> to 1 recipient")

    def test_gnutls_cli(self):
        script = ("EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
                  "DATA\r\n" + MESSAGE + ".\r\nQUIT\r\n")
        code, out, err = gnutls_cli(self.protocol, self.server.port, self.server.ca, script)
        self.assertEqual(code, 0, err)
        self.assertIn("250 2.0.0 Ok: message 1 accepted", out)
        self.server.wait_log(r"smtp session over TLS ended \(TLS TLSv1\.3")

    def test_curl_ssl_reqd(self):
        message = os.path.join(self.tmp, "message.txt")
        with open(message, "w") as f:
            f.write(MESSAGE)
        done = run(["curl", "--silent", "--show-error", "--ssl-reqd", "--cacert", self.server.ca,
                    f"smtp://localhost:{self.server.port}", "--mail-from", "a@example.org",
                    "--mail-rcpt", "b@example.org", "--upload-file", message, "--max-time", "30"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.server.wait_log(r"mail from <a@example.org> to 1 recipient\(s\), \d+ bytes")

    def test_python_smtplib(self):
        with smtplib.SMTP("localhost", self.server.port, timeout=20) as smtp:
            smtp.ehlo()
            self.assertTrue(smtp.has_extn("starttls"))
            code, _ = smtp.starttls(context=smtp_context(self.server.ca))
            self.assertEqual(code, 220)
            smtp.ehlo()
            self.assertFalse(smtp.has_extn("starttls"), "STARTTLS is offered again over TLS")
            refused = smtp.sendmail("a@example.org", ["b@example.org", "c@example.org"], MESSAGE)
            self.assertEqual(refused, {})
        self.server.wait_log(r"mail from <a@example.org> to 2 recipient")

    def test_swaks(self):
        done = run(["swaks", "--server", f"localhost:{self.server.port}", "--from",
                    "a@example.org", "--to", "b@example.org", "--tls", "--tls-verify",
                    "--tls-ca-path", self.server.ca, "--timeout", "20"])
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("TLS started", done.stdout)
        self.server.wait_log(r"mail from <a@example.org>")

    def test_uptls_connect(self):
        done = uptls_connect(f"smtp://127.0.0.1:{self.server.port}", "--cafile", self.server.ca,
                             "--servername", "localhost", input_text="QUIT\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Server greeting: mx.test ESMTP uptls", done.stderr)
        capabilities = re.search(r"Capabilities over TLS: (.*)", done.stderr)
        self.assertIsNotNone(capabilities, done.stderr)
        self.assertNotIn("STARTTLS", capabilities[1])
        self.assertIn("221 2.0.0 Bye", done.stdout)

    def test_uptls_check_and_inspect_with_starttls(self):
        check = run([up.UPTLS, "check", f"smtp://127.0.0.1:{self.server.port}", "--cafile",
                     self.server.ca, "--servername", "localhost"])
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertTrue(check.stdout.startswith("OK: <Certificate Subject=CN=localhost"),
                        check.stdout)
        inspect = run([up.UPTLS, "inspect", f"127.0.0.1:{self.server.port}", "--starttls",
                       "smtp", "--cafile", self.server.ca, "--servername", "localhost", "--json"])
        self.assertEqual(inspect.returncode, 0, inspect.stderr)
        self.assertEqual(json.loads(inspect.stdout)["protocol"], "TLSv1.3")

    def test_mail_before_tls_is_refused(self):
        line = Line(self.server.port)
        self.addCleanup(line.close)
        self.assertTrue(line.line().startswith("220 "))
        line.send("EHLO c\r\nMAIL FROM:<a@example.org>\r\n")
        self.assertIn("250 STARTTLS", line.reply())
        self.assertEqual(line.reply(), ["530 5.7.0 Must issue a STARTTLS command first"])

    def test_commands_pipelined_after_starttls_are_refused(self):
        # EAST command injection (CVE-2011-0411): the MAIL command must not
        # run as if it had come over TLS.
        line = Line(self.server.port)
        self.addCleanup(line.close)
        line.line()
        line.send("EHLO c\r\n")
        line.reply()
        self.server.log_mark()
        line.send("STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n")
        rest = line.rest()
        self.assertEqual(rest, "554 5.5.1 Error: command pipelined after STARTTLS; closing\r\n")
        self.server.wait_log(r"after STARTTLS without waiting.*MAIL FROM:<evil@example.org>.*"
                             r"CVE-2011-0411")
        # The server goes on serving others.
        with smtplib.SMTP("localhost", self.server.port, timeout=20) as smtp:
            smtp.starttls(context=smtp_context(self.server.ca))
            self.assertEqual(smtp.noop()[0], 250)

    def test_line_too_long(self):
        line = Line(self.server.port)
        self.addCleanup(line.close)
        line.line()
        line.send("EHLO " + "x" * 10000 + "\r\n")
        self.assertIn("500 5.5.2 Error: line too long; closing", line.rest())
        self.server.check_alive()


class LmtpServerTest(ServedCase):
    """Real LMTP clients against `uptls serve lmtp`."""

    protocol = "lmtp"

    def test_openssl_s_client(self):
        script = ("LHLO client.test\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.org>\n"
                  "RCPT TO:<c@example.org>\nDATA\nhello\n.\nQUIT\n")
        done = s_client("lmtp", self.server.port, self.server.ca, script)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.count("250 2.0.0 Ok: message 1 accepted"), 2, done.stdout)

    def test_gnutls_cli(self):
        code, out, err = gnutls_cli("lmtp", self.server.port, self.server.ca,
                                    "LHLO c\r\nNOOP\r\nQUIT\r\n")
        self.assertEqual(code, 0, err)
        self.assertIn("221 2.0.0 Bye", out)

    def test_python_lmtp(self):
        with smtplib.LMTP("localhost", self.server.port) as lmtp:
            lmtp.sock.settimeout(20)
            lmtp.ehlo()
            lmtp.starttls(context=smtp_context(self.server.ca))
            lmtp.ehlo()
            self.assertEqual(lmtp.sendmail("a@example.org", ["b@example.org"], MESSAGE), {})
        self.server.wait_log(r"mail from <a@example.org> to 1 recipient")


class ImapServerTest(ServedCase):
    """Real IMAP clients against `uptls serve imap`: a one-message INBOX."""

    protocol = "imap"

    def test_openssl_s_client(self):
        done = s_client("imap", self.server.port, self.server.ca,
                        "a LOGIN alice secret\nb SELECT INBOX\nc FETCH 1 BODY[]\nd LOGOUT\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Subject: Hello from uptls", done.stdout)
        self.assertIn("d OK LOGOUT completed", done.stdout)

    def test_gnutls_cli(self):
        code, out, err = gnutls_cli("imap", self.server.port, self.server.ca,
                                    "a CAPABILITY\r\nb LOGOUT\r\n")
        self.assertEqual(code, 0, err)
        self.assertIn("a OK CAPABILITY completed", out)
        self.assertNotIn("STARTTLS", out.split("a OK CAPABILITY")[0].split("* OK")[-1])

    def test_curl_ssl_reqd(self):
        done = run(["curl", "--silent", "--show-error", "--ssl-reqd", "--cacert", self.server.ca,
                    "--user", "alice:secret", f"imap://localhost:{self.server.port}/INBOX;UID=1",
                    "--max-time", "30"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("This mailbox holds one message", done.stdout)
        self.server.wait_log(r"imap login as alice")

    def test_python_imaplib(self):
        with imaplib.IMAP4("localhost", self.server.port, timeout=20) as imap:
            self.assertIn("STARTTLS", imap.capabilities)
            self.assertIn("LOGINDISABLED", imap.capabilities)
            imap.starttls(ssl_context=ssl.create_default_context(cafile=self.server.ca))
            self.assertNotIn("STARTTLS", imap.capabilities)
            imap.login("alice", "secret")
            typ, data = imap.select("INBOX")
            self.assertEqual((typ, data), ("OK", [b"1"]))
            typ, data = imap.fetch("1", "(RFC822)")
            self.assertEqual(typ, "OK")
            self.assertIn(b"Subject: Hello from uptls", data[0][1])

    def test_login_before_tls_and_pipelined_commands_are_refused(self):
        line = Line(self.server.port)
        self.addCleanup(line.close)
        self.assertIn("STARTTLS LOGINDISABLED", line.line())
        line.send("a LOGIN alice secret\r\n")
        self.assertEqual(line.line(), "a NO [PRIVACYREQUIRED] TLS is required: STARTTLS first")
        line.send("b STARTTLS\r\nc LOGIN alice secret\r\n")
        self.assertEqual(line.rest(), "b BAD command pipelined after STARTTLS; closing\r\n")
        self.server.wait_log(r"CVE-2011-0411")


class Pop3ServerTest(ServedCase):
    """Real POP3 clients against `uptls serve pop3`: a one-message maildrop."""

    protocol = "pop3"

    def test_openssl_s_client(self):
        done = s_client("pop3", self.server.port, self.server.ca,
                        "USER alice\nPASS secret\nSTAT\nRETR 1\nQUIT\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Subject: Hello from uptls", done.stdout)
        self.assertIn("+OK localhost signing off", done.stdout)

    def test_gnutls_cli(self):
        code, out, err = gnutls_cli("pop3", self.server.port, self.server.ca,
                                    "CAPA\r\nQUIT\r\n")
        self.assertEqual(code, 0, err)
        self.assertIn("\nUSER\n", out)
        self.assertIn("signing off", out)

    def test_curl_ssl_reqd(self):
        done = run(["curl", "--silent", "--show-error", "--ssl-reqd", "--cacert", self.server.ca,
                    "--user", "alice:secret", f"pop3://localhost:{self.server.port}/1",
                    "--max-time", "30"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("This mailbox holds one message", done.stdout)
        self.server.wait_log(r"pop3 login as alice")

    def test_python_poplib(self):
        pop = poplib.POP3("localhost", self.server.port, timeout=20)
        try:
            self.assertIn("STLS", pop.capa())
            pop.stls(context=ssl.create_default_context(cafile=self.server.ca))
            self.assertNotIn("STLS", pop.capa())
            pop.user("alice")
            pop.pass_("secret")
            self.assertEqual(pop.stat()[0], 1)
            response, lines, _ = pop.retr(1)
            self.assertIn(b"Subject: Hello from uptls", lines)
        finally:
            pop.quit()

    def test_pipelined_commands_are_refused(self):
        line = Line(self.server.port)
        self.addCleanup(line.close)
        line.line()
        line.send("USER alice\r\n")
        self.assertEqual(line.line(), "-ERR [AUTH] TLS is required: STLS first")
        line.send("STLS\r\nUSER alice\r\n")
        self.assertEqual(line.rest(), "-ERR command pipelined after STLS; closing\r\n")


class SieveServerTest(ServedCase):
    """Real ManageSieve clients against `uptls serve sieve`: one script."""

    protocol = "sieve"

    def test_openssl_s_client(self):
        done = s_client("sieve", self.server.port, self.server.ca,
                        'AUTHENTICATE "PLAIN" "AGFsaWNlAHNlY3JldA=="\nLISTSCRIPTS\n'
                        'GETSCRIPT "uptls"\nLOGOUT\n')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn('OK "Authenticated"', done.stdout)
        self.assertIn('require "fileinto";', done.stdout)
        self.assertIn('OK "Logout completed"', done.stdout)
        self.server.wait_log(r"sieve login as alice")

    def test_gnutls_cli(self):
        code, out, err = gnutls_cli("sieve", self.server.port, self.server.ca,
                                    "CAPABILITY\r\nLOGOUT\r\n")
        self.assertEqual(code, 0, err)
        self.assertIn('"SASL" "PLAIN"', out)
        self.assertIn('OK "Logout completed"', out)

    def test_pipelined_commands_are_refused(self):
        line = Line(self.server.port)
        self.addCleanup(line.close)
        self.assertEqual(line.reply(final=lambda l: l.startswith("OK"))[-1],
                         'OK "localhost ManageSieve ready"')
        line.send("STARTTLS\r\nLISTSCRIPTS\r\n")
        self.assertEqual(line.rest(), 'BYE "command pipelined after STARTTLS; closing"\r\n')


class NntpServerTest(ServedCase):
    """Real NNTP clients against `uptls serve nntp`: one group, one article."""

    protocol = "nntp"

    def test_openssl_s_client(self):
        done = s_client("nntp", self.server.port, self.server.ca,
                        "GROUP uptls.test\nARTICLE 1\nQUIT\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("211 1 1 1 uptls.test", done.stdout)
        self.assertIn("Subject: Hello from uptls", done.stdout)

    def test_gnutls_cli(self):
        code, out, err = gnutls_cli("nntp", self.server.port, self.server.ca,
                                    "CAPABILITIES\r\nQUIT\r\n")
        self.assertEqual(code, 0, err)
        self.assertIn("AUTHINFO USER", out)
        self.assertIn("205 closing connection", out)

    def test_python_nntplib(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import nntplib
        with nntplib.NNTP("localhost", self.server.port, timeout=20) as nntp:
            self.assertIn("STARTTLS", nntp.getcapabilities())
            nntp.starttls(context=ssl.create_default_context(cafile=self.server.ca))
            self.assertNotIn("STARTTLS", nntp.getcapabilities())
            nntp.login("alice", "secret")
            _, count, first, last, name = nntp.group("uptls.test")
            self.assertEqual((count, first, last, name), (1, 1, 1, "uptls.test"))
            _, article = nntp.article("1")
            self.assertIn(b"Subject: Hello from uptls", article.lines)
        self.server.wait_log(r"nntp login as alice")

    def test_pipelined_commands_are_refused(self):
        line = Line(self.server.port)
        self.addCleanup(line.close)
        line.line()
        line.send("STARTTLS\r\nGROUP uptls.test\r\n")
        self.assertEqual(line.rest(), "580 command pipelined after STARTTLS; closing\r\n")


class LdapServerTest(ServedCase):
    """Real LDAP clients against `uptls serve ldap`: an empty directory."""

    protocol = "ldap"

    def ldapsearch(self, *args):
        # OpenLDAP verifies the name of the URL: the certificate has 127.0.0.1.
        env = dict(os.environ, LDAPTLS_CACERT=self.server.ca, LDAPTLS_REQCERT="demand")
        return subprocess.run(["ldapsearch", "-H", f"ldap://127.0.0.1:{self.server.port}",
                               "-x", *args], capture_output=True, text=True, timeout=60,
                              env=env)

    def test_ldapsearch_zz(self):
        done = self.ldapsearch("-ZZ", "-b", "", "-s", "base")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("vendorName: uptls", done.stdout)
        self.assertNotIn("supportedExtension", done.stdout)  # no StartTLS over TLS
        self.server.wait_log(r"ldap bind as \"\"")

    def test_ldapsearch_zz_with_a_password(self):
        done = self.ldapsearch("-ZZ", "-D", "cn=admin,dc=example", "-w", "secret", "-b",
                               "dc=example")
        self.assertEqual(done.returncode, 32, done.stderr)  # noSuchObject: the directory is empty
        self.server.wait_log(r"ldap bind as \"cn=admin,dc=example\"")

    def test_a_password_bind_before_tls_is_refused(self):
        done = self.ldapsearch("-D", "cn=admin,dc=example", "-w", "secret", "-b", "")
        self.assertEqual(done.returncode, 13, done.stderr)  # confidentialityRequired
        self.assertIn("TLS is required: StartTLS first", done.stderr)

    def test_anonymous_root_dse_shows_starttls(self):
        done = self.ldapsearch("-b", "", "-s", "base", "supportedExtension")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("supportedExtension: 1.3.6.1.4.1.1466.20037", done.stdout)

    def test_openssl_s_client(self):
        # -no_ign_eof: end at the end of input, as LDAP has no text to send.
        done = s_client("ldap", self.server.port, self.server.ca, "", "-no_ign_eof")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.server.wait_log(r"ldap session over TLS ended")

    def test_gnutls_cli(self):
        code, out, err = gnutls_cli("ldap", self.server.port, self.server.ca, "")
        self.assertEqual(code, 0, err)
        self.assertIn("Handshake was completed", out + err)


class PostgresServerTest(ServedCase):
    """Real PostgreSQL clients against `uptls serve postgres`: SELECT 1."""

    protocol = "postgres"

    def psql(self, sslmode, query="SELECT 1"):
        return run(["psql", f"host=localhost port={self.server.port} user=alice dbname=test "
                    f"sslmode={sslmode} sslrootcert={self.server.ca} connect_timeout=20",
                    "-c", query])

    def test_psql_verify_full(self):
        done = self.psql("verify-full")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, r"\?column\?\s*\n-+\n\s*1\n\(1 row\)")
        self.server.wait_log(r"postgres login as alice")

    def test_psql_without_tls_is_refused(self):
        done = self.psql("disable")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("TLS is required", done.stderr)

    def test_other_queries_get_an_error(self):
        done = self.psql("verify-full", "SELECT now()")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("uptls answers SELECT 1 and nothing else", done.stderr)

    def test_openssl_s_client(self):
        done = s_client("postgres", self.server.port, self.server.ca, "", "-no_ign_eof")
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_gnutls_cli(self):
        code, out, err = gnutls_cli("postgres", self.server.port, self.server.ca, "")
        self.assertEqual(code, 0, err)
        self.assertIn("Handshake was completed", out + err)

    def test_direct_tls_with_alpn(self):
        # PostgreSQL 17's sslnegotiation=direct: TLS from the first byte.
        context = ssl.create_default_context(cafile=self.server.ca)
        context.set_alpn_protocols(["postgresql"])
        with socket.create_connection((HOST, self.server.port), timeout=20) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as secure:
                self.assertEqual(secure.selected_alpn_protocol(), "postgresql")
                secure.sendall(b"\x00\x00\x00\x14\x00\x03\x00\x00user\x00alice\x00\x00")
                self.assertEqual(secure.recv(1), b"R")
        self.server.wait_log(r"postgres login as alice")

    def test_bytes_after_the_ssl_request_are_refused(self):
        # CVE-2021-23214: a startup message sent along with the SSLRequest.
        line = Line(self.server.port)
        self.addCleanup(line.close)
        line.send(b"\x00\x00\x00\x08\x04\xd2\x16\x2f"
                  b"\x00\x00\x00\x14\x00\x03\x00\x00user\x00alice\x00\x00")
        answer = line.rest()
        self.assertTrue(answer.startswith("E"), answer)
        self.assertIn("received unencrypted data after SSL request", answer)


XMPP_HEADER = ("<stream:stream to='localhost' version='1.0' xmlns='jabber:client' "
               "xmlns:stream='http://etherx.jabber.org/streams'>")


class XmppServerTest(ServedCase):
    """Real XMPP clients against `uptls serve xmpp` and `xmpp-server`."""

    def serve(self, protocol):
        server = Served(self, protocol, self.tmp)
        self.addCleanup(server.stop)
        return server

    def test_openssl_s_client_c2s_session(self):
        server = self.serve("xmpp")
        # s_client opened the first stream itself; this is the one over TLS.
        script = (XMPP_HEADER + "\n<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  "mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>\n" + XMPP_HEADER +
                  "\n<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                  "<resource>r</resource></bind></iq>\n</stream:stream>\n")
        done = s_client("xmpp", server.port, server.ca, script, "-xmpphost", "localhost")
        self.assertEqual(done.returncode, 0, done.stderr)
        out = done.stdout
        self.assertIn("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", out)
        self.assertIn("<jid>alice@localhost/r</jid>", out)

    def test_openssl_s_client_s2s(self):
        server = self.serve("xmpp-server")
        done = s_client("xmpp-server", server.port, server.ca, "", "-xmpphost", "localhost",
                        "-no_ign_eof")
        self.assertEqual(done.returncode, 0, done.stderr)
        server.wait_log(r"xmpp-server session over TLS ended")

    def test_gnutls_cli(self):
        server = self.serve("xmpp")
        code, out, err = gnutls_cli("xmpp", server.port, server.ca, "")
        self.assertEqual(code, 0, err)
        self.assertIn("Handshake was completed", out + err)

    def test_stanzas_before_tls_are_refused(self):
        server = self.serve("xmpp")
        line = Line(server.port)
        self.addCleanup(line.close)
        line.send(XMPP_HEADER + "<iq type='get' id='1'/>")
        answer = line.rest()
        self.assertIn("<required/>", answer)
        self.assertIn("<policy-violation", answer)
        self.assertIn("TLS is required: STARTTLS first", answer)

    def test_pipelined_stanzas_are_refused(self):
        server = self.serve("xmpp")
        line = Line(server.port)
        self.addCleanup(line.close)
        line.send(XMPP_HEADER)
        line.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><iq type='get' id='1'/>")
        self.assertTrue(line.rest().endswith(
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"))
        server.wait_log(r"CVE-2011-0411")


class IrcServerTest(ServedCase):
    """Real IRC clients against `uptls serve irc`."""

    protocol = "irc"

    def test_openssl_s_client(self):
        done = s_client("irc", self.server.port, self.server.ca,
                        "NICK alice\nUSER a 0 * :Alice\nJOIN #uptls\nQUIT\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(":localhost 001 alice :Welcome", done.stdout)
        self.assertIn(":alice!alice@uptls JOIN #uptls", done.stdout)
        self.server.wait_log(r"irc registered as alice")

    def test_registration_before_tls_and_pipelined_commands_are_refused(self):
        line = Line(self.server.port)
        self.addCleanup(line.close)
        line.send("NICK alice\r\n")
        self.assertEqual(line.rest(), "ERROR :TLS is required: send STARTTLS first\r\n")
        line = Line(self.server.port)
        self.addCleanup(line.close)
        line.send("STARTTLS\r\nNICK alice\r\n")
        self.assertEqual(line.rest(), "ERROR :command pipelined after STARTTLS; closing\r\n")


class MysqlServerTest(ServedCase):
    """MariaDB's client against `uptls serve mysql`: SELECT 1."""

    protocol = "mysql"

    def mariadb(self, *tls):
        return run(["mariadb", "--protocol=TCP", "-h", HOST, "-P", str(self.server.port), "-u",
                    "alice", "--connect-timeout=20", *tls, "-e", "SELECT 1"])

    def test_mariadb_verifying_the_server(self):
        done = self.mariadb("--ssl", f"--ssl-ca={self.server.ca}", "--ssl-verify-server-cert")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.split(), ["1", "1"])
        self.server.wait_log(r"mysql login as alice")

    def test_mariadb_without_tls_is_refused(self):
        done = self.mariadb("--skip-ssl")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("ERROR 3159", done.stderr)

    def test_openssl_s_client(self):
        done = s_client("mysql", self.server.port, self.server.ca, "", "-no_ign_eof")
        self.assertEqual(done.returncode, 0, done.stderr)


class FtpServerTest(ServedCase):
    """Real FTP clients against `uptls serve ftp` (the control connection)."""

    protocol = "ftp"

    def test_curl_ssl_reqd(self):
        # -I asks for SIZE and MDTM only: no data connection.
        done = run(["curl", "--silent", "--show-error", "--ssl-reqd", "--cacert", self.server.ca,
                    "--user", "alice:secret", "-I",
                    f"ftp://localhost:{self.server.port}/hello.txt", "--max-time", "30"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Content-Length: 210", done.stdout)
        self.server.wait_log(r"ftp login as alice")

    def test_curl_downloads_lists_and_uploads_over_protected_data_connections(self):
        url = f"ftp://localhost:{self.server.port}/"
        common = ["curl", "--silent", "--show-error", "--ssl-reqd", "--cacert", self.server.ca,
                  "--user", "alice:secret", "--max-time", "30"]
        done = run(common + [url + "hello.txt"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(done.stdout.startswith("From: uptls <uptls@localhost>"), done.stdout)
        done = run(common + [url])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, r"-rw-r--r-- .* 210 Nov 23 00:00 hello.txt")
        upload = os.path.join(self.tmp, "upload.bin")
        with open(upload, "wb") as f:
            f.write(os.urandom(300_000))
        done = run(common + ["--upload-file", upload, url + "upload.bin"])
        self.assertEqual(done.returncode, 0, done.stderr)
        self.server.wait_log(r"ftp STOR upload.bin: 300000 bytes received and discarded over TLS")

    def test_python_ftplib_transfers(self):
        ftp = ReusingFTP_TLS(context=ssl.create_default_context(cafile=self.server.ca),
                             timeout=20)
        ftp.connect("localhost", self.server.port)
        ftp.login("alice", "secret")
        ftp.prot_p()
        lines = []
        ftp.retrlines("LIST", lines.append)
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].endswith(" hello.txt"), lines)
        chunks = []
        ftp.retrbinary("RETR hello.txt", chunks.append)
        self.assertIn(b"Subject: Hello from uptls", b"".join(chunks))
        self.assertTrue(ftp.storbinary("STOR x.bin", io.BytesIO(b"x" * 100_000)).startswith("226"))
        ftp.prot_c()  # clear data connections: refused, TLS is required
        with self.assertRaises(ftplib.error_perm) as refused:
            ftp.retrlines("NLST", lines.append)
        self.assertIn("522 data connections must be protected", str(refused.exception))
        ftp.quit()
        self.server.wait_log(r"ftp STOR x.bin: 100000 bytes received and discarded over TLS")

    def test_a_data_connection_that_does_not_resume_the_session_is_refused(self):
        # ftplib as shipped never resumes: refused, as vsftpd's defaults do.
        ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=self.server.ca),
                             timeout=20)
        ftp.connect("localhost", self.server.port)
        ftp.login("alice", "secret")
        ftp.prot_p()
        with self.assertRaises(ftplib.error_temp) as refused:
            ftp.retrlines("LIST", lambda line: None)
        self.assertIn("426 ", str(refused.exception))
        self.assertIn("resumed no session", str(refused.exception))
        ftp.quit()

    def test_no_session_reuse_lets_stock_ftplib_transfer(self):
        relaxed = Served(self, "ftp", self.tmp, "--no-session-reuse")
        self.addCleanup(relaxed.stop)
        ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=relaxed.ca), timeout=20)
        ftp.connect("localhost", relaxed.port)
        ftp.login("alice", "secret")
        ftp.prot_p()
        chunks = []
        ftp.retrbinary("RETR hello.txt", chunks.append)
        self.assertIn(b"Subject: Hello from uptls", b"".join(chunks))
        ftp.quit()

    def test_python_ftplib_with_ccc(self):
        ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=self.server.ca),
                             timeout=20)
        ftp.connect("localhost", self.server.port)
        ftp.auth()
        ftp.prot_p()
        self.assertTrue(ftp.login("alice", "secret").startswith("230"))
        self.assertTrue(ftp.ccc().startswith("200"))
        self.assertEqual(ftp.pwd(), "/")  # in plaintext now
        self.assertTrue(ftp.quit().startswith("221"))
        self.server.wait_log(r"control connection back to plaintext \(CCC\)")
        self.server.wait_log(r"ftp session ended in plaintext: the client ended TLS")

    def test_openssl_s_client(self):
        done = s_client("ftp", self.server.port, self.server.ca, "USER a\nPASS b\nPWD\nQUIT\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn('257 "/"', done.stdout)

    def test_gnutls_cli(self):
        code, out, err = gnutls_cli("ftp", self.server.port, self.server.ca,
                                    "USER a\r\nPASS b\r\nQUIT\r\n")
        self.assertEqual(code, 0, err)
        self.assertIn("230 logged in", out)

    def test_login_before_tls_and_pipelined_commands_are_refused(self):
        line = Line(self.server.port)
        self.addCleanup(line.close)
        line.line()
        line.send("USER alice\r\n")
        self.assertEqual(line.line(), "530 TLS is required: AUTH TLS first")
        line.send("AUTH TLS\r\nUSER alice\r\n")
        self.assertEqual(line.rest(), "421 command pipelined after AUTH TLS; closing\r\n")


class HttpUpgradeServerTest(ServedCase):
    """RFC 2817 against `uptls serve http-upgrade`. No common client speaks
    it, so the client is Python's standard library: a socket, the upgrading
    request by hand, then ssl over the same socket."""

    protocol = "http-upgrade"

    def test_python_upgrade_then_http_over_tls(self):
        with socket.create_connection((HOST, self.server.port), timeout=20) as raw:
            raw.sendall(b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\nUpgrade: TLS/1.0\r\n"
                        b"Connection: Upgrade\r\n\r\n")
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                head += raw.recv(1)
            self.assertTrue(head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"), head)
            context = ssl.create_default_context(cafile=self.server.ca)
            with context.wrap_socket(raw, server_hostname="localhost") as secure:
                secure.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := secure.recv(4096):
                    answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 OK"), answer)
        self.assertTrue(answer.endswith(b"Hello from uptls over TLS\n"), answer)

    def test_plain_requests_get_426(self):
        line = Line(self.server.port)
        self.addCleanup(line.close)
        line.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = line.rest()
        self.assertTrue(answer.startswith("HTTP/1.1 426 Upgrade Required\r\n"), answer)
        self.assertIn("Upgrade: TLS/1.0, HTTP/1.1\r\n", answer)

    def test_uptls_connect(self):
        done = uptls_connect(f"{HOST}:{self.server.port}", "--starttls", "http-upgrade",
                             "--cafile", self.server.ca, "--servername", "localhost",
                             input_text="GET / HTTP/1.1\r\nHost: localhost\r\n"
                                        "Connection: close\r\n\r\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Hello from uptls over TLS", done.stdout)


class ProxyTunnelTest(ServedCase):
    """`uptls connect --proxy`: CONNECT through a proxy, then the protocol's
    STARTTLS (or implicit TLS) with the origin, verified for the origin's name.
    The proxies are `uptls proxy` and mitmproxy's mitmdump (passing the tunnel
    through untouched)."""

    protocol = "smtp"

    def through(self, proxy_port, *extra):
        return uptls_connect(f"smtp://localhost:{self.server.port}", "--proxy",
                             f"{HOST}:{proxy_port}", "--cafile", self.server.ca, *extra,
                             input_text="QUIT\n")

    def start(self, cmd, pattern):
        proc = start_process(cmd)
        out = PipeReader(proc.stdout)
        err = PipeReader(proc.stderr)
        self.addCleanup(stop_process, proc, readers=(out, err))
        found = out.wait_for(pattern, 30)
        self.assertIsNotNone(found, out.snapshot() + err.snapshot())
        return found[1]

    def test_through_uptls_proxy(self):
        port = int(self.start([up.UPTLS, "proxy", "--listen", f"{HOST}:0", "--allow-port",
                               str(self.server.port), "--auth", "alice:secret"],
                              r"listening on 127\.0\.0\.1:(\d+)").group(1))
        done = self.through(port, "--proxy-user", "alice:secret")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Proxy: HTTP/1.1 200", done.stderr)
        self.assertIn("verified for localhost", done.stderr)
        self.assertIn("221 2.0.0 Bye", done.stdout)
        refused = self.through(port)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("407", refused.stderr)

    def test_through_an_https_proxy_tls_inside_tls(self):
        # The proxy is reached over TLS (Python's ssl module in front of
        # `uptls proxy`, as stunnel or a TLS-terminating load balancer would
        # be); the session with the origin is TLS inside that TLS.
        port = int(self.start([up.UPTLS, "proxy", "--listen", f"{HOST}:0", "--allow-port",
                               str(self.server.port)],
                              r"listening on 127\.0\.0\.1:(\d+)").group(1))
        front_ca, cert, key = make_pki(os.path.join(self.tmp, "front"))
        front = TlsFront(cert, key, port)
        self.addCleanup(front.close)
        done = self.through_url(f"https://localhost:{front.port}", "--proxy-cafile", front_ca)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("The proxy: TLS TLSv1.3", done.stderr)
        self.assertIn("Proxy: HTTP/1.1 200", done.stderr)
        self.assertIn("verified for localhost", done.stderr)
        self.assertIn("221 2.0.0 Bye", done.stdout)
        # Inside the proxy's TLS: the CONNECT, SMTP up to STARTTLS, then the
        # origin's own handshake (a TLS handshake record).
        inner = bytes(front.from_client)
        self.assertTrue(inner.startswith(b"CONNECT localhost:"), inner[:80])
        self.assertIn(b"STARTTLS\r\n\x16\x03", inner)
        # The proxy's certificate is verified too: not against the origin's CA.
        wrong = self.through_url(f"https://localhost:{front.port}", "--proxy-cafile",
                                 self.server.ca)
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("certificate", wrong.stderr)

    def through_url(self, proxy, *extra):
        return uptls_connect(f"smtp://localhost:{self.server.port}", "--proxy", proxy,
                             "--cafile", self.server.ca, *extra, input_text="QUIT\n")

    @unittest.skipUnless(shutil.which("mitmdump"), up.missing_peer("mitmproxy"))
    def test_through_mitmdump(self):
        port = socket.socket()
        port.bind((HOST, 0))
        number = port.getsockname()[1]
        port.close()
        self.start(["mitmdump", "--listen-host", HOST, "--listen-port", str(number),
                    "--ignore-hosts", ".*", "--set", "termlog_verbosity=info"],
                   r"[Pp]roxy server listening")
        done = self.through(number)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("verified for localhost", done.stderr)
        self.assertIn("221 2.0.0 Bye", done.stdout)


class EastCase(unittest.TestCase):
    """A uptls client against hostile scripted servers (the EAST cases)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="uptls-east-")
        cls.ca, cls.cert, cls.key = make_pki(os.path.join(cls.tmp, "pki"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def serve(self, script):
        server = ScriptedServer(script, self.cert, self.key)
        self.addCleanup(server.stop)
        return server


class SmtpClientEastTest(EastCase):
    """`uptls connect --starttls smtp` against hostile scripted servers."""

    def connect(self, server, *extra):
        return uptls_connect(f"{HOST}:{server.port}", "--starttls", "smtp", "--cafile", self.ca,
                             "--servername", "localhost", *extra, input_text="QUIT\n")

    def test_stripped_starttls_stops_the_client(self):
        def script(conn, tls):
            conn.sendall(b"220 mx ESMTP\r\n")
            read_line(conn)
            conn.sendall(b"250-mx\r\n250 PIPELINING\r\n")
            read_line(conn)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("did not offer STARTTLS (its capabilities: PIPELINING)",
                      done.stderr)
        self.assertIn("TLS is required", done.stderr)

    def test_opportunistic_goes_on_in_plaintext_loudly(self):
        def script(conn, tls):
            conn.sendall(b"220 mx ESMTP\r\n")
            read_line(conn)
            conn.sendall(b"250-mx\r\n250 PIPELINING\r\n")
            if read_line(conn).startswith("QUIT"):
                conn.sendall(b"221 bye\r\n")
        done = self.connect(self.serve(script), "--opportunistic", "--quiet")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("WARNING: NOT ENCRYPTED", done.stderr)
        self.assertIn("221 bye", done.stdout)

    def test_refused_starttls_is_quoted(self):
        def script(conn, tls):
            conn.sendall(b"220 mx ESMTP\r\n")
            read_line(conn)
            conn.sendall(b"250-mx\r\n250 STARTTLS\r\n")
            read_line(conn)
            conn.sendall(b"454 4.7.0 TLS not available due to local problem\r\n")
            read_line(conn)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("refused STARTTLS: 454 4.7.0 TLS not available", done.stderr)

    def test_response_injected_after_the_go_ahead_is_refused(self):
        def script(conn, tls):
            conn.sendall(b"220 mx ESMTP\r\n")
            read_line(conn)
            conn.sendall(b"250-mx\r\n250 STARTTLS\r\n")
            read_line(conn)
            conn.sendall(b"220 go ahead\r\n250-mx\r\n250 AUTH PLAIN\r\n")
            conn.recv(100)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("after its go-ahead for STARTTLS", done.stderr)
        self.assertIn("250 AUTH PLAIN", done.stderr)

    def test_capabilities_are_asked_for_again_over_tls(self):
        def script(conn, tls):
            conn.sendall(b"220 mx ESMTP\r\n")
            read_line(conn)
            conn.sendall(b"250-mx\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n")
            read_line(conn)
            conn.sendall(b"220 go ahead\r\n")
            secure = tls(conn)
            hello = read_line(secure)
            secure.sendall(b"250-mx\r\n250 SIZE 1000\r\n")
            if read_line(secure).startswith("QUIT"):
                secure.sendall(b"221 bye\r\n")
            secure.unwrap()
            self.assertEqual(hello, "EHLO localhost\r\n")
        server = self.serve(script)
        done = self.connect(server)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Capabilities over TLS: SIZE 1000\n", done.stderr)
        self.assertNotIn("AUTH PLAIN", done.stderr)
        self.assertIn("221 bye", done.stdout)
        self.assertEqual(server.errors, [])

    def test_wrong_certificate_is_refused(self):
        def script(conn, tls):
            conn.sendall(b"220 mx ESMTP\r\n")
            read_line(conn)
            conn.sendall(b"250-mx\r\n250 STARTTLS\r\n")
            read_line(conn)
            conn.sendall(b"220 go ahead\r\n")
            try:
                tls(conn)
            except ssl.SSLError:
                pass
        done = uptls_connect(f"smtp://{HOST}:{self.serve(script).port}", "--servername",
                             "localhost", input_text="QUIT\n")  # the system store only
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("certificate", done.stderr)


class ImapClientEastTest(EastCase):
    """`uptls connect imap://` against hostile scripted servers."""

    def connect(self, server, *extra):
        return uptls_connect(f"imap://{HOST}:{server.port}", "--cafile", self.ca,
                             "--servername", "localhost", *extra, input_text="a LOGOUT\n")

    def test_stripped_starttls_stops_the_client(self):
        def script(conn, tls):
            conn.sendall(b"* OK ready\r\n")
            read_line(conn)
            conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA001 OK done\r\n")
            read_line(conn)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("did not offer STARTTLS (its capabilities: IMAP4rev1 AUTH=PLAIN)",
                      done.stderr)

    def test_preauth_is_refused(self):
        def script(conn, tls):
            conn.sendall(b"* PREAUTH [CAPABILITY IMAP4rev1] welcome back\r\n")
            read_line(conn)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("PREAUTH", done.stderr)

    def test_response_injected_after_the_tagged_ok_is_refused(self):
        def script(conn, tls):
            conn.sendall(b"* OK ready\r\n")
            read_line(conn)
            conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS\r\nA001 OK done\r\n")
            read_line(conn)
            conn.sendall(b"A002 OK begin\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
            conn.recv(100)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("after its go-ahead for STARTTLS", done.stderr)

    def test_untagged_capabilities_during_starttls_are_not_taken(self):
        def script(conn, tls):
            conn.sendall(b"* OK ready\r\n")
            read_line(conn)
            conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS\r\nA001 OK done\r\n")
            read_line(conn)
            conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA002 OK begin\r\n")
            secure = tls(conn)
            read_line(secure)
            secure.sendall(b"* CAPABILITY IMAP4rev1 ID\r\nA003 OK done\r\n")
            if read_line(secure).startswith("a LOGOUT"):
                secure.sendall(b"* BYE bye\r\na OK LOGOUT completed\r\n")
            secure.unwrap()
        done = self.connect(self.serve(script))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Capabilities over TLS: IMAP4rev1, ID\n", done.stderr)
        self.assertIn("a OK LOGOUT completed", done.stdout)


class Pop3ClientEastTest(EastCase):
    """`uptls connect pop3://` against hostile scripted servers."""

    def connect(self, server):
        return uptls_connect(f"pop3://{HOST}:{server.port}", "--cafile", self.ca,
                             "--servername", "localhost", input_text="QUIT\n")

    def test_stripped_stls_stops_the_client(self):
        def script(conn, tls):
            conn.sendall(b"+OK ready\r\n")
            read_line(conn)
            conn.sendall(b"+OK\r\nTOP\r\nUSER\r\n.\r\n")
            read_line(conn)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("did not offer STLS (its capabilities: TOP / USER)", done.stderr)

    def test_response_injected_after_the_go_ahead_is_refused(self):
        def script(conn, tls):
            conn.sendall(b"+OK ready\r\n")
            read_line(conn)
            conn.sendall(b"+OK\r\nSTLS\r\n.\r\n")
            read_line(conn)
            conn.sendall(b"+OK begin\r\n+OK\r\nUSER\r\n.\r\n")
            conn.recv(100)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("after its go-ahead for STARTTLS", done.stderr)


class LdapClientEastTest(EastCase):
    """`uptls connect ldap://` against hostile scripted servers."""

    SUCCESS = (b"\x30\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00\x04\x00\x8a\x16"
               b"1.3.6.1.4.1.1466.20037")

    def connect(self, server):
        return uptls_connect(f"ldap://{HOST}:{server.port}", "--cafile", self.ca,
                             "--servername", "localhost", input_text="")

    def test_refused_starttls_is_quoted(self):
        def script(conn, tls):
            conn.recv(100)
            conn.sendall(b"\x30\x28\x02\x01\x01\x78\x23\x0a\x01\x34\x04\x00\x04\x1c"
                         b"StartTLS is not possible now")
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("refused StartTLS: unavailable (\"StartTLS is not possible now\")",
                      done.stderr)

    def test_response_injected_after_the_success_is_refused(self):
        def script(conn, tls):
            conn.recv(100)
            conn.sendall(self.SUCCESS + b"\x30\x0c\x02\x01\x02\x61\x07\x0a\x01\x00\x04\x00"
                         b"\x04\x00")
            conn.recv(100)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("after its go-ahead for STARTTLS", done.stderr)


class PostgresClientEastTest(EastCase):
    """`uptls connect --starttls postgres` against hostile scripted servers."""

    def connect(self, server, *extra):
        return uptls_connect(f"{HOST}:{server.port}", "--starttls", "postgres", "--cafile",
                             self.ca, "--servername", "localhost", *extra, input_text="")

    def test_response_injected_after_s_is_refused(self):
        # CVE-2021-23222.
        def script(conn, tls):
            conn.recv(8)
            conn.sendall(b"SR\x00\x00\x00\x08\x00\x00\x00\x00")
            conn.recv(100)
        done = self.connect(self.serve(script))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("after its go-ahead for STARTTLS", done.stderr)

    def test_n_stops_the_client_unless_opportunistic(self):
        def script(conn, tls):
            conn.recv(8)
            conn.sendall(b"N")
            conn.recv(100)
        server = self.serve(script)
        done = self.connect(server)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("does not accept SSL", done.stderr)
        done = self.connect(server, "--opportunistic")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("WARNING: NOT ENCRYPTED", done.stderr)


if __name__ == "__main__":
    sys.exit(up.main())
