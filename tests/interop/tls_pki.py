"""Certificates, OCSP responses and one-shot `uptls` runs for the interop tests.

Standard library only; everything is made with the openssl command line.
Shared by test_tls_config.py and test_s_server.py:

* openssl()            - a bounded `openssl ARGS...`; raises with its output on failure.
* Pki                  - ECDSA P-256 CAs and leaf certificates in one directory.
* cert_der(), file_cert_der()
                       - the DER of a PEM certificate (text or first in a file).
* make_ocsp_response() - a DER OCSP response for one certificate, made by
                         `openssl ocsp` as an index.txt-based responder.
* run_uptls()          - `uptls ARGS...` to its end, bounded.
* PkiTestCase          - a test case with one Pki for its class and a
                         temporary directory for each test.
"""

from __future__ import annotations

import calendar
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

import uptls_process as up

OPENSSL_TIMEOUT = 60.0       # one openssl command making keys or certificates

_PEM_CERT_RE = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", re.S)


# --------------------------------------------------------------------------
# Certificates via the openssl command line
# --------------------------------------------------------------------------

def openssl(*args, cwd=None, input_text=None):
    """Run `openssl ARGS...`, bounded; return stdout; raise with the output on failure."""
    try:
        proc = subprocess.run(["openssl", *args], cwd=cwd, input=input_text,
                              stdin=None if input_text is not None else subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=OPENSSL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"openssl {' '.join(args)} did not finish within "
                           f"{OPENSSL_TIMEOUT:g}s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stdout}{proc.stderr}")
    return proc.stdout


_REQ_CONF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = {cn}
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

_LEAF_EXT = """\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = {eku}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


class Pki:
    """ECDSA P-256 CAs and leaves made with the openssl CLI in one directory.

    Attributes (paths): ca, ca_key (CA "uptls tls-config test CA"); server,
    server_key (CN=localhost, DNS:localhost, IP:127.0.0.1, serverAuth);
    a, a_key, a_bundle (CN=a.example, DNS:a.example; a_bundle = key + chain
    in one PEM); alice, alice_key (CN=alice, clientAuth, from ca); ca2,
    ca2_key (another CA); mallory, mallory_key (CN=mallory, clientAuth, from ca2).
    """

    def __init__(self, directory):
        self.dir = directory
        self.ca, self.ca_key = self.make_ca("ca", "uptls tls-config test CA")
        self.server, self.server_key = self.make_leaf(
            "server", self.ca, self.ca_key, "localhost",
            dns_names=("localhost",), ip_addresses=("127.0.0.1",))
        self.a, self.a_key = self.make_leaf(
            "a", self.ca, self.ca_key, "a.example", dns_names=("a.example",))
        self.a_bundle = self.bundle("a-bundle", self.a_key, self.a, self.ca)
        self.alice, self.alice_key = self.make_leaf(
            "alice", self.ca, self.ca_key, "alice", eku="clientAuth")
        self.ca2, self.ca2_key = self.make_ca("ca2", "uptls tls-config other CA")
        self.mallory, self.mallory_key = self.make_leaf(
            "mallory", self.ca2, self.ca2_key, "mallory", eku="clientAuth")

    def path(self, name, directory=None):
        return os.path.join(directory or self.dir, name)

    def _write(self, path, text):
        with open(path, "w", encoding="ascii") as f:
            f.write(text)

    def make_key(self, path):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", path)

    def make_ca(self, name, cn):
        cert, key, conf = (self.path(f"{name}{ext}") for ext in (".pem", ".key", ".cnf"))
        self._write(conf, _REQ_CONF.format(cn=cn))
        self.make_key(key)
        openssl("req", "-new", "-x509", "-config", conf, "-extensions", "v3_ca",
                "-key", key, "-sha256", "-days", "2",
                "-set_serial", "0x" + secrets.token_hex(16), "-out", cert)
        return cert, key

    def make_leaf(self, name, ca, ca_key, cn, *, dns_names=(), ip_addresses=(),
                  eku="serverAuth", directory=None):
        """Key + certificate NAME.pem / NAME.key signed by (ca, ca_key)."""
        cert, key, conf, ext, csr = (self.path(f"{name}{e}", directory)
                                     for e in (".pem", ".key", ".cnf", ".ext", ".csr"))
        self._write(conf, _REQ_CONF.format(cn=cn))
        san = ",".join([f"DNS:{n}" for n in dns_names] + [f"IP:{a}" for a in ip_addresses])
        self._write(ext, _LEAF_EXT.format(eku=eku)
                    + (f"subjectAltName = {san}\n" if san else ""))
        self.make_key(key)
        openssl("req", "-new", "-config", conf, "-key", key, "-sha256", "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                "-set_serial", "0x" + secrets.token_hex(16), "-days", "2", "-sha256",
                "-extfile", ext, "-out", cert)
        return cert, key

    def bundle(self, name, *parts, directory=None):
        """One PEM file NAME.pem with the contents of `parts` in order."""
        out = self.path(f"{name}.pem", directory)
        text = ""
        for part in parts:
            with open(part, encoding="ascii") as f:
                text += f.read()
        self._write(out, text)
        return out


def cert_der(pem_text):
    return ssl.PEM_cert_to_DER_cert(pem_text.strip() + "\n")


def file_cert_der(path):
    """DER of the first certificate in a PEM file."""
    with open(path, encoding="ascii") as f:
        m = _PEM_CERT_RE.search(f.read())
    if not m:
        raise AssertionError(f"no certificate in {path}")
    return cert_der(m.group(0))


# --------------------------------------------------------------------------
# OCSP responses via `openssl ocsp`
# --------------------------------------------------------------------------

def _index_time(openssl_date):
    """'Nov 25 06:51:02 2026 GMT' (x509 -enddate) -> '261125065102Z' (index.txt)."""
    t = time.strptime(openssl_date.strip(), "%b %d %H:%M:%S %Y GMT")
    return time.strftime("%y%m%d%H%M%SZ", time.gmtime(calendar.timegm(t)))


def make_ocsp_response(out, cert, issuer, issuer_key, *, status="good",
                       signer=None, signer_key=None, days=1):
    """Write to `out` a DER OCSP response for `cert` (issued by `issuer`).

    `openssl ocsp` acts as an index.txt-based responder without a network:
    the index (written next to `out`) lists `cert` as valid (status "good")
    or revoked (status "revoked", reason keyCompromise, revoked yesterday);
    the response is signed by (signer, signer_key), by default the issuing
    CA itself, with thisUpdate now and nextUpdate `days` days later, no nonce.
    Returns `out`.
    """
    if status not in ("good", "revoked"):
        raise ValueError(f"status must be good or revoked, not {status!r}")
    fields = dict(line.split("=", 1) for line in openssl(
        "x509", "-in", cert, "-noout", "-serial", "-enddate", "-subject",
        "-nameopt", "compat").splitlines() if "=" in line)
    # openssl ocsp looks the serial up as BN_bn2hex() writes it: upper-case
    # hex, whole bytes, no leading zero bytes.
    serial = format(int(fields["serial"], 16), "X")
    serial = ("0" + serial) if len(serial) % 2 else serial
    expiry = _index_time(fields["notAfter"])
    subject = fields["subject"].strip()
    if status == "good":
        row = ["V", expiry, "", serial, "unknown", subject]
    else:
        revoked = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() - 86400))
        row = ["R", expiry, f"{revoked},keyCompromise", serial, "unknown", subject]
    index = os.path.splitext(out)[0] + ".index.txt"
    with open(index, "w", encoding="ascii") as f:
        f.write("\t".join(row) + "\n")
    openssl("ocsp", "-index", index, "-rsigner", signer or issuer,
            "-rkey", signer_key or issuer_key, "-CA", issuer, "-issuer", issuer,
            "-cert", cert, "-no_nonce", "-ndays", str(days), "-respout", out)
    if not os.path.isfile(out) or os.path.getsize(out) == 0:
        raise RuntimeError(f"openssl ocsp wrote no response to {out}")
    return out


def run_uptls(args, timeout=up.CLIENT_TIMEOUT):
    """Run `uptls ARGS...` to its end (killed, by its PID, after `timeout`).

    Returns (returncode, stdout, stderr, description for failure messages).
    """
    cmd = [up.UPTLS, *args]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{' '.join(cmd)} did not finish within {timeout:g}s\n"
                             f"stdout:\n{exc.stdout}\nstderr:\n{exc.stderr}") from None
    what = (f"command: {' '.join(cmd)}\nexit status: {proc.returncode}\n"
            f"stdout:\n{proc.stdout}stderr:\n{proc.stderr}")
    return proc.returncode, proc.stdout, proc.stderr, what


class PkiTestCase(unittest.TestCase):
    """cls.pki: one Pki for the class; self.tmp: a directory for each test.
    Subclasses name the peers they need in PEERS (skipped, as missing, when
    one is not installed)."""

    PEERS = ("openssl",)

    @classmethod
    def setUpClass(cls):
        for tool in cls.PEERS:
            if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
                raise unittest.SkipTest(up.missing_peer(tool))
        cls._pki_dir = tempfile.TemporaryDirectory(prefix="uptls-pki-")
        try:
            cls.pki = Pki(cls._pki_dir.name)
        except BaseException:
            cls._pki_dir.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._pki_dir.cleanup()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="uptls-test-")
        self.addCleanup(self.tmp.cleanup)  # runs after process cleanups (LIFO)
