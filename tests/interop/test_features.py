#!/usr/bin/python3
"""Interop tests: `uptls features` against the openssl command and Python's ssl.

Usage:
    /usr/bin/python3 tests/interop/test_features.py --uptls PATH [unittest args]

The report is checked by its JSON fields against what the same OpenSSL says
through the openssl command (ciphers, TLS 1.3 suites) and what CPython's ssl
reports (its OpenSSL, ALPN, SNI), and the table against the JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # keep tests/interop free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uptls_process as up  # noqa: E402


def uptls(*args):
    proc = subprocess.run([up.UPTLS, *args], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"uptls {' '.join(args)} exited {proc.returncode}\n{proc.stderr}")
    return proc.stdout


def openssl_ciphers(*args):
    return set(subprocess.run(["openssl", "ciphers", *args], capture_output=True, text=True,
                              timeout=60, check=True).stdout.strip().split(":"))


class Features(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.report = json.loads(uptls("features", "--json"))

    def names(self, section, on=None):
        return {f["name"] for f in self.report[section]
                if on is None or f["on_by_default"] == on}

    def test_every_cipher_openssl_knows_is_listed(self):
        if shutil.which("openssl") is None:
            self.skipTest(up.missing_peer("openssl"))
        listed = self.names("tls12_ciphers") | self.names("tls13_ciphersuites")
        self.assertEqual(listed, openssl_ciphers("ALL:COMPLEMENTOFALL"))
        self.assertEqual(self.names("tls13_ciphersuites"), openssl_ciphers("-s", "-tls1_3"))

    def test_defaults_are_those_openssl_selects_for_the_safe_list(self):
        if shutil.which("openssl") is None:
            self.skipTest(up.missing_peer("openssl"))
        safe = openssl_ciphers("-s", "-tls1_2", "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL")
        self.assertEqual(self.names("tls12_ciphers", on=True), safe)

    def test_versions_and_features_as_a_user_checks_them(self):
        versions = {f["name"]: f for f in self.report["versions"]}
        self.assertEqual({n for n, f in versions.items() if f["on_by_default"]},
                         {"TLSv1.2", "TLSv1.3"})
        for old in ("TLSv1", "TLSv1.1"):
            self.assertIn("refuses", versions[old]["note"])
        self.assertIn(ssl.OPENSSL_VERSION.split()[1], self.report["library"],
                      "the same OpenSSL as CPython's ssl on this machine")
        features = {f["name"]: f for f in self.report["extensions"]}
        self.assertEqual(features["ALPN"]["available"], ssl.HAS_ALPN)
        self.assertEqual(features["SNI"]["available"], ssl.HAS_SNI)
        self.assertFalse(features["NPN"]["on_by_default"])
        self.assertFalse(self.names("signature_algorithms", on=True)
                         & {"ECDSA+SHA1", "RSA+SHA1", "ECDSA+SHA224", "RSA+SHA224"})

    def test_table_says_the_same_as_json(self):
        table = uptls("features", "--all-ciphers")
        for section in ("versions", "tls12_ciphers", "groups", "extensions"):
            for f in self.report[section]:
                words = f["name"].split()
                line = next((l for l in table.splitlines() if l.split()[:len(words)] == words
                             and len(l.split()) > len(words)), None)
                self.assertIsNotNone(line, f"{f['name']} missing from the table")
                cols = line.split()[len(words):]
                self.assertEqual(cols[0], "yes" if f["available"] else "no", line)
                self.assertEqual(cols[1], "on" if f["on_by_default"] else "off", line)


if __name__ == "__main__":
    sys.exit(up.main())
