#!/usr/bin/python3
"""Interop tests: `uptls proxy` with real clients and a real origin.

Usage:
    /usr/bin/python3 tests/interop/test_proxy.py --uptls PATH [unittest args]

curl, Python's urllib and requests go through `uptls proxy` to Debian's
nginx (tests/interop/nginx_origin.py) with certificates from `uptls cert`:
plain CONNECT tunnels, intercepted tunnels (the client trusts the proxy's
CA, the proxy verifies nginx) and forwarded http:// requests. Bodies of 0
bytes, 1 MB and 100 MB and chunked ones are compared byte for byte;
keep-alive, 50 concurrent clients, malformed requests, forbidden ports,
proxy credentials, an origin with an untrusted certificate (502 and why),
an origin that stops reading (the write timeout), clients that vanish,
bytes pipelined after CONNECT, and seed 002's session with --answer OK.
Every process runs on 127.0.0.1 and is stopped by PID.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.dont_write_bytecode = True  # keep tests/interop free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uptls_process as up  # noqa: E402
from nginx_origin import NginxOrigin  # noqa: E402
from uptls_process import HOST, PipeReader, start_process, stop_process  # noqa: E402

_LISTENING = r"^listening on 127\.0\.0\.1:(\d+) \("
CURL_TIMEOUT = 120


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def uptls(*args, cwd=None):
    done = subprocess.run([up.UPTLS, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"uptls {' '.join(args)} failed: {done.stderr}")
    return done.stdout


class Proxy:
    """A `uptls proxy` child: its port, its output, a clean stop."""

    def __init__(self, testcase, *args):
        self.testcase = testcase
        self.proc = start_process([up.UPTLS, "proxy", "--listen", f"{HOST}:0", *args])
        self.out = PipeReader(self.proc.stdout)
        self.err = PipeReader(self.proc.stderr)
        found = self.out.wait_for(_LISTENING, up.STARTUP_TIMEOUT)
        if not found:
            stop_process(self.proc, readers=(self.out, self.err))
            raise AssertionError("uptls proxy did not start:\n" + self.out.snapshot() +
                                 self.err.snapshot())
        self.port = int(found[1].group(1))
        self.url = f"http://{HOST}:{self.port}"

    def wait_log(self, pattern, timeout=20.0):
        found = self.out.wait_for(pattern, timeout)
        self.testcase.assertIsNotNone(
            found, f"the proxy logged no line matching {pattern!r}:\n{self.out.snapshot()}")
        return found[1]

    def stop(self):
        code, killed = stop_process(self.proc, readers=(self.out, self.err))
        self.testcase.assertFalse(killed, "the proxy ignored SIGTERM")
        self.testcase.assertEqual(code, 0, "the proxy's exit status:\n" + self.err.snapshot())

    def check_alive(self):
        self.testcase.assertIsNone(self.proc.poll(), "the proxy exited:\n" + self.err.snapshot())


class ProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="uptls-proxy-")
        pki = os.path.join(cls.tmp, "pki")
        bad = os.path.join(cls.tmp, "bad")
        os.makedirs(pki)
        os.makedirs(bad)
        uptls("cert", "ca", "--dir", pki, "--name", "origin CA")
        uptls("cert", "issue", "--dir", pki, "localhost", "127.0.0.1", "--out", "origin")
        uptls("cert", "ca", "--dir", bad, "--name", "untrusted CA")
        uptls("cert", "issue", "--dir", bad, "localhost", "127.0.0.1", "--out", "origin")
        cls.origin_ca = os.path.join(pki, "ca.pem")
        cls.bodies = {
            "0.bin": b"",
            "1m.bin": os.urandom(1_000_000),
            "100m.bin": os.urandom(100_000_000),
            "text.txt": b"".join(b"line %d of a chunked body\n" % i for i in range(200_000)),
        }
        cls.origin = NginxOrigin(os.path.join(cls.tmp, "nginx"), os.path.join(pki, "origin.pem"),
                                 os.path.join(pki, "origin-key.pem"),
                                 bad_cert=os.path.join(bad, "origin.pem"),
                                 bad_key=os.path.join(bad, "origin-key.pem"))
        for name, data in cls.bodies.items():
            cls.origin.put(name, data)
        cls.origin.start()
        cls.https = f"https://localhost:{cls.origin.tls_port}"
        cls.http = f"http://localhost:{cls.origin.plain_port}"

    @classmethod
    def tearDownClass(cls):
        cls.origin.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=self.tmp)
        self.proxies = []

    def tearDown(self):
        for proxy in self.proxies:
            if proxy.proc.poll() is None:
                stop_process(proxy.proc, readers=(proxy.out, proxy.err))

    def start_proxy(self, *args, intercept=False):
        extra = ["--allow-port", str(self.origin.tls_port), "--allow-port",
                 str(self.origin.bad_port)]
        if intercept:
            extra += ["--intercept", "--ca-out", os.path.join(self.dir, "proxy-ca.pem"),
                      "--upstream-cafile", self.origin_ca]
        proxy = Proxy(self, *extra, *args)
        self.proxies.append(proxy)
        return proxy

    def proxy_ca(self):
        return os.path.join(self.dir, "proxy-ca.pem")

    def curl(self, proxy, *args, cafile=None, check=True):
        out = os.path.join(self.dir, "curl.out")
        cmd = ["curl", "--silent", "--show-error", "--proxy", proxy.url, "--cacert",
               cafile or self.origin_ca, "--output", out, "--write-out", "%{http_code}",
               "--max-time", str(CURL_TIMEOUT), *args]
        done = subprocess.run(cmd, capture_output=True, timeout=CURL_TIMEOUT + 10)
        if check:
            self.assertEqual(done.returncode, 0, f"{' '.join(cmd)}: {done.stderr.decode()}")
        body = b""
        if os.path.exists(out):
            with open(out, "rb") as result:
                body = result.read()
            os.unlink(out)
        return done.stdout.decode(), body, done

    def fetch_all(self, proxy, cafile, base):
        """Each body, plain and chunked, through the proxy: byte for byte."""
        for name, data in self.bodies.items():
            with self.subTest(name=name):
                status, body, _ = self.curl(proxy, f"{base}/{name}", cafile=cafile)
                self.assertEqual(status, "200")
                self.assertEqual(len(body), len(data))
                self.assertEqual(sha256(body), sha256(data))
        status, body, done = self.curl(proxy, "--verbose", f"{base}/chunked/text.txt",
                                       cafile=cafile)
        self.assertEqual(status, "200")
        self.assertIn(b"transfer-encoding: chunked", done.stderr.lower())
        self.assertEqual(body, self.bodies["text.txt"])

    # --- tunnels -----------------------------------------------------------------

    def test_tunnel_relays_bodies_untouched(self):
        proxy = self.start_proxy()
        self.fetch_all(proxy, self.origin_ca, self.https)
        line = proxy.wait_log(r"^tunnel \S+ CONNECT localhost:%d -> 200 \((\d+) B up, (\d+) B down"
                              % self.origin.tls_port)
        self.assertGreater(int(line.group(2)), 0)
        proxy.stop()

    def test_tunnel_keep_alive_several_requests(self):
        proxy = self.start_proxy()
        urls = [f"{self.https}/1m.bin", f"{self.https}/0.bin", f"{self.https}/1m.bin"]
        out = os.path.join(self.dir, "many")
        done = subprocess.run(["curl", "-sS", "--proxy", proxy.url, "--cacert", self.origin_ca,
                               "-o", out + "1", "-o", out + "2", "-o", out + "3", *urls],
                              capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        for i, name in enumerate(["1m.bin", "0.bin", "1m.bin"], 1):
            with open(out + str(i), "rb") as f:
                self.assertEqual(f.read(), self.bodies[name])
        # One tunnel carried the three requests: counted once the proxy has
        # stopped, so that every line it would log is in.
        proxy.stop()
        self.assertEqual(len(re.findall(r"^tunnel ", proxy.out.snapshot(), re.M)), 1)

    def test_tunnel_to_forbidden_port_is_403(self):
        proxy = self.start_proxy()
        status, body, done = self.curl(proxy, f"https://localhost:{self.origin.plain_port}/",
                                       check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(b"403", done.stderr)
        proxy.wait_log(r"^local .* CONNECT localhost:%d -> 403 .*not allowed" %
                       self.origin.plain_port)
        proxy.stop()

    def test_tunnel_to_closed_port_is_502_with_reason(self):
        port = socket.socket()
        port.bind((HOST, 0))
        closed = port.getsockname()[1]
        port.close()
        proxy = self.start_proxy("--allow-port", str(closed))
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % closed)
            reply = read_all(s)
        self.assertTrue(reply.startswith(b"HTTP/1.1 502 "), reply)
        self.assertIn(b"cannot reach 127.0.0.1:%d" % closed, reply)
        self.assertIn(b"refused", reply.lower())
        proxy.stop()

    def test_tunnel_passes_half_close_and_ends_when_idle(self):
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]

        def serve():
            # Reads to the end of the client's sending, answers, then stays
            # silent and open: the second connection is for the idle timeout.
            conn, _ = listener.accept()
            with conn:
                received = read_all(conn)
                conn.sendall(b"got %d bytes" % len(received))
                conn.shutdown(socket.SHUT_WR)
                read_all(conn)
            quiet, _ = listener.accept()
            with quiet:
                read_all(quiet)

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        proxy = self.start_proxy("--allow-port", str(port), "--idle-timeout", "1")
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % port)
            s.sendall(b"x" * 100_000)
            s.shutdown(socket.SHUT_WR)
            reply = read_all(s)
        self.assertEqual(reply, b"HTTP/1.1 200 Connection established\r\n\r\ngot 100000 bytes")
        proxy.wait_log(r"^tunnel .* -> 200 \(100000 B up, 16 B down, [\d.]+ ms\)$")
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % port)
            reply = read_all(s)
        self.assertEqual(reply, b"HTTP/1.1 200 Connection established\r\n\r\n")
        proxy.wait_log(r"^tunnel .* no byte moved either way for 1000 ms")
        server.join(10)
        listener.close()
        proxy.stop()

    # --- interception ------------------------------------------------------------

    def test_intercept_bodies_and_log(self):
        log = os.path.join(self.dir, "log.jsonl")
        proxy = self.start_proxy("--log-json", log, intercept=True)
        self.fetch_all(proxy, self.proxy_ca(), self.https)
        # 100 MB up: curl asks `Expect: 100-continue` and waits for nginx's 100.
        upload = os.path.join(self.origin.www, "100m.bin")
        status, body, done = self.curl(proxy, "--verbose", "--data-binary", f"@{upload}",
                                       f"{self.https}/upload", cafile=self.proxy_ca())
        self.assertEqual((status, body), ("200", b"uploaded\n"))
        self.assertIn(b"Expect: 100-continue", done.stderr)
        self.assertIn(b"HTTP/1.1 100 Continue", done.stderr)
        proxy.wait_log(r"^intercept .* POST .* -> 200 \(100000000 B up, 9 B down")
        proxy.stop()
        with open(log) as f:
            events = [json.loads(line) for line in f]
        by_url = {e["url"]: e for e in events if e["mode"] == "intercept"}
        big = by_url[f"{self.https}/100m.bin"]
        self.assertEqual((big["method"], big["status"], big["response_bytes"]),
                         ("GET", 200, 100_000_000))
        chunked = by_url[f"{self.https}/chunked/text.txt"]
        self.assertEqual(chunked["response_bytes"], len(self.bodies["text.txt"]))
        self.assertGreater(big["duration_ms"], 0)
        upload = by_url[f"{self.https}/upload"]
        self.assertEqual((upload["method"], upload["request_bytes"]), ("POST", 100_000_000))
        self.assertTrue(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", big["time"]))

    def test_intercept_mints_certificate_for_the_name(self):
        proxy = self.start_proxy(intercept=True)
        _, _, done = self.curl(proxy, "--verbose", f"{self.https}/0.bin", cafile=self.proxy_ca())
        err = done.stderr.decode()
        self.assertIn("subject: CN=localhost", err)
        self.assertIn("issuer: CN=uptls proxy CA", err)
        self.assertIn("SSL certificate verify ok", err)
        self.assertIn("ALPN: server accepted http/1.1", err)
        # An IP address gets an IP SAN.
        status, _, done = self.curl(proxy, "--verbose",
                                    f"https://127.0.0.1:{self.origin.tls_port}/0.bin",
                                    cafile=self.proxy_ca())
        self.assertEqual(status, "200")
        self.assertIn("subjectAltName: host \"127.0.0.1\" matched", done.stderr.decode())
        # The CA is kept: a second run with the same --ca-out reuses it.
        proxy.stop()
        again = Proxy(self, "--intercept", "--ca-out", self.proxy_ca(), "--upstream-cafile",
                      self.origin_ca, "--allow-port", str(self.origin.tls_port))
        self.proxies.append(again)
        status, _, _ = self.curl(again, f"{self.https}/0.bin", cafile=self.proxy_ca())
        self.assertEqual(status, "200")
        again.stop()

    def test_one_bound_for_every_minted_certificate(self):
        proxy = self.start_proxy("--certificates-kept", "2", "--answer", "OK", intercept=True)
        context = ssl.create_default_context(cafile=self.proxy_ca())
        context.check_hostname = False  # the chain is verified; names are checked below

        def minted(host, name):
            with tls_through(proxy, self.origin.tls_port, context, host, name) as tls:
                return tls.getpeercert(binary_form=True), tls.getpeercert()["subjectAltName"]

        a, a_names = minted("localhost", "a.test")
        self.assertEqual(a_names, (("DNS", "a.test"),))
        minted("localhost", "b.test")
        # A client that sends no SNI is answered for the CONNECT host.
        ip, ip_names = minted("127.0.0.1", None)
        self.assertEqual(ip_names, (("IP Address", "127.0.0.1"),))
        # Two kept, for every host and name together: a.test was dropped.
        self.assertNotEqual(minted("localhost", "a.test")[0], a)
        self.assertEqual(minted("127.0.0.1", None)[0], ip)
        proxy.stop()

    def test_intercept_keep_alive_several_requests(self):
        proxy = self.start_proxy(intercept=True)
        out = os.path.join(self.dir, "many")
        names = ["1m.bin", "chunked/text.txt", "0.bin", "1m.bin"]
        args = []
        for i, name in enumerate(names):
            args += ["-o", f"{out}{i}", f"{self.https}/{name}"]
        done = subprocess.run(["curl", "-sS", "--proxy", proxy.url, "--cacert", self.proxy_ca(),
                               *args], capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        for i, name in enumerate(names):
            with open(f"{out}{i}", "rb") as f:
                self.assertEqual(sha256(f.read()), sha256(self.bodies[name.split("/")[-1]]))
        proxy.stop()  # every line it would log is in
        clients = re.findall(r"^intercept (\S+) GET ", proxy.out.snapshot(), re.M)
        self.assertEqual(len(clients), 4)
        self.assertEqual(len(set(clients)), 1, "the requests came over one connection")

    def test_intercept_untrusted_origin_is_502_with_reason(self):
        proxy = self.start_proxy(intercept=True)
        status, body, _ = self.curl(proxy, f"https://localhost:{self.origin.bad_port}/0.bin",
                                    cafile=self.proxy_ca())
        self.assertEqual(status, "502")
        self.assertIn(b"certificate", body)
        self.assertIn(b"localhost:%d" % self.origin.bad_port, body)
        proxy.wait_log(r"^intercept .* -> 502 .*certificate")
        proxy.stop()

    def test_python_urllib_and_requests(self):
        proxy = self.start_proxy(intercept=True)
        context = ssl.create_default_context(cafile=self.proxy_ca())
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"https": proxy.url, "http": proxy.url}),
            urllib.request.HTTPSHandler(context=context))
        with opener.open(f"{self.https}/1m.bin", timeout=60) as response:
            self.assertEqual(response.read(), self.bodies["1m.bin"])
        with opener.open(f"{self.http}/1m.bin", timeout=60) as response:
            self.assertEqual(response.read(), self.bodies["1m.bin"])
        script = (
            "import requests, sys, hashlib\n"
            "s = requests.Session()\n"
            "s.proxies = {'https': sys.argv[1], 'http': sys.argv[1]}\n"
            "for url in sys.argv[3:]:\n"
            "    r = s.get(url, verify=sys.argv[2], timeout=60)\n"
            "    print(r.status_code, hashlib.sha256(r.content).hexdigest())\n")
        urls = [f"{self.https}/1m.bin", f"{self.https}/chunked/text.txt", f"{self.http}/0.bin"]
        done = subprocess.run(["/usr/bin/python3", "-c", script, proxy.url, self.proxy_ca(),
                               *urls], capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.split("\n")[:3], [
            f"200 {sha256(self.bodies['1m.bin'])}", f"200 {sha256(self.bodies['text.txt'])}",
            f"200 {sha256(b'')}"])
        proxy.stop()

    def test_fifty_concurrent_clients(self):
        proxy = self.start_proxy("--threads", "2", intercept=True)

        def one(i):
            name = "1m.bin" if i % 2 else "chunked/text.txt"
            out = os.path.join(self.dir, f"c{i}")
            done = subprocess.run(["curl", "-sS", "--proxy", proxy.url, "--cacert",
                                   self.proxy_ca(), "-o", out, f"{self.https}/{name}"],
                                  capture_output=True, timeout=CURL_TIMEOUT)
            with open(out, "rb") as f:
                return done.returncode, sha256(f.read()), name.split("/")[-1]

        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, range(50)))
        for code, digest, name in results:
            self.assertEqual(code, 0)
            self.assertEqual(digest, sha256(self.bodies[name]))
        proxy.stop()

    # --- http:// forwarding and the proxy itself ---------------------------------

    def test_forward_http_with_keep_alive(self):
        proxy = self.start_proxy()
        self.fetch_all(proxy, self.origin_ca, self.http)
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            request = (f"GET {self.http}/0.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"
                       f"GET {self.http}/1m.bin HTTP/1.1\r\nHost: localhost\r\n"
                       f"Connection: close\r\n\r\n").encode()
            s.sendall(request)
            reply = read_all(s)
        self.assertEqual(reply.count(b"HTTP/1.1 200 OK\r\n"), 2, reply[:300])
        self.assertTrue(reply.endswith(self.bodies["1m.bin"]))
        proxy.stop()

    def test_origin_closing_an_idle_connection_is_reopened(self):
        # An origin that closes each connection shortly after its response,
        # without saying so (as servers do when keep-alive times out).
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]
        connections = []

        def serve():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                connections.append(conn)
                with conn:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        request += conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d" %
                                 (len(str(len(connections))), len(connections)))
                    time.sleep(0.2)

        threading.Thread(target=serve, daemon=True).start()
        proxy = self.start_proxy()
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            get = b"GET http://127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % port
            s.sendall(get)
            first = recv_response(s)
            time.sleep(0.6)
            s.sendall(get)
            second = recv_response(s)
        self.assertTrue(first.startswith(b"HTTP/1.1 200 OK") and first.endswith(b"1"), first)
        self.assertTrue(second.startswith(b"HTTP/1.1 200 OK") and second.endswith(b"2"), second)
        listener.close()
        proxy.stop()

    def test_status_page_as_in_the_seed(self):
        proxy = self.start_proxy()
        done = subprocess.run(["curl", "-sS", f"{proxy.url}/any/path"], capture_output=True,
                              timeout=30)
        self.assertEqual(done.returncode, 0)
        self.assertIn(b"uptls proxy", done.stdout)
        self.assertIn(b"mode: tunnel", done.stdout)
        proxy.stop()

    # --- what an independent review found --------------------------------------

    def test_expect_continue_to_an_origin_that_never_sends_100(self):
        # Python's http.server (HTTP/1.0 handler) reads the body at once and
        # never sends 100: curl sends the body after its own wait.
        origin = start_python_origin(self.dir)
        proxy = self.start_proxy()
        upload = os.path.join(self.dir, "3m")
        with open(upload, "wb") as f:
            f.write(os.urandom(3_000_000))
        status, body, done = self.curl(proxy, "--verbose", "-T", upload,
                                       f"http://127.0.0.1:{origin.port}/up")
        self.assertEqual(status, "200", done.stderr)
        self.assertEqual(body, b"received 3000000 bytes")
        self.assertIn(b"Expect: 100-continue", done.stderr)
        proxy.wait_log(r"^forward .* PUT .*/up -> 200 \(3000000 B up, 22 B down")
        origin.stop()
        proxy.stop()

    def test_an_origin_answering_before_the_body_is_heard(self):
        # The origin answers 401 at once, reads nothing, closes 1 s later.
        origin = start_python_origin(self.dir, "early")
        proxy = self.start_proxy()
        upload = os.path.join(self.dir, "20m")
        with open(upload, "wb") as f:
            f.truncate(20_000_000)
        status, body, done = self.curl(proxy, "-H", "Expect:", "--data-binary", f"@{upload}",
                                       f"http://127.0.0.1:{origin.port}/up", check=False)
        self.assertEqual(status, "401", done.stderr)
        self.assertEqual(body, b"no")
        origin.stop()
        proxy.stop()

    def test_http10_clients_through_interception(self):
        proxy = self.start_proxy(intercept=True)
        status, body, done = self.curl(proxy, "--http1.0", f"{self.https}/1m.bin",
                                       cafile=self.proxy_ca())
        self.assertEqual((status, len(body)), ("200", 1_000_000), done.stderr)
        proxy.stop()

    def test_head_and_keep_alive_in_answer_mode(self):
        proxy = Proxy(self, "--answer", "OK", "--ca-out", self.proxy_ca())
        self.proxies.append(proxy)
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(b"HEAD http://dummy.org/ HTTP/1.1\r\nHost: dummy.org\r\n\r\n"
                      b"GET http://dummy.org/ HTTP/1.1\r\nHost: dummy.org\r\n"
                      b"Connection: close\r\n\r\n")
            reply = read_all(s)
        head, rest = reply.split(b"\r\n\r\n", 1)
        self.assertIn(b"Content-Length: 2", head)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 OK\r\n"), "HEAD got a body: %r" % rest)
        self.assertTrue(rest.endswith(b"\r\n\r\nOK"))
        proxy.stop()

    def test_a_refused_upload_still_reads_its_refusal(self):
        proxy = self.start_proxy("--auth", "me:secret")
        upload = os.path.join(self.dir, "3m")
        with open(upload, "wb") as f:
            f.truncate(3_000_000)
        for _ in range(10):
            _, _, done = self.curl(proxy, "-H", "Expect:", "--data-binary", f"@{upload}",
                                   f"{self.http}/upload", check=False)
            self.assertIn(b"407", done.stderr + done.stdout)
        proxy.stop()

    def test_json_log_stays_valid_with_bytes_that_are_not_utf8(self):
        log = os.path.join(self.dir, "log.jsonl")
        proxy = self.start_proxy("--log-json", log)
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(b"GET http://localhost:%d/caf\xc3\xa9\xff HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n" % self.origin.plain_port)
            reply = read_all(s)
        self.assertTrue(reply.startswith(b"HTTP/1.1 404 "), reply[:100])
        proxy.stop()
        with open(log, "rb") as f:
            events = [json.loads(line) for line in f]
        self.assertEqual(events[0]["url"],
                         f"http://localhost:{self.origin.plain_port}/caf\u00e9\u00ff")

    def test_forwarded_requests_carry_the_urls_host_and_no_hop_fields(self):
        origin = start_python_origin(self.dir, "echo-head")
        proxy = self.start_proxy("--auth", "me:secret")
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(b"GET http://127.0.0.1:%d/path?q=1 HTTP/1.1\r\nHost: evil.example\r\n"
                      b"Proxy-Authorization: Basic bWU6c2VjcmV0\r\nProxy-Connection: keep-alive\r\n"
                      b"Connection: X-Hop, close\r\nX-Hop: secret\r\nX-End: kept\r\n\r\n"
                      % origin.port)
            reply = read_all(s)
        seen = reply.split(b"\r\n\r\n", 1)[1].decode()
        lines = seen.split("\r\n")
        self.assertEqual(lines[0], "GET /path?q=1 HTTP/1.1")
        self.assertIn(f"Host: 127.0.0.1:{origin.port}", lines)
        self.assertIn("X-End: kept", lines)
        self.assertIn("Connection: close", lines)
        for gone in ("evil.example", "Proxy-Authorization", "Proxy-Connection", "X-Hop"):
            self.assertNotIn(gone, seen)
        origin.stop()
        proxy.stop()

    def test_forwarded_bodies_are_framed_by_the_proxy(self):
        """The origin's framing is what the proxy parsed and copies, never a
        client's words: a Connection naming a framing field is refused (it
        would make a hop drop the framing and read the body as requests)."""
        origin = start_python_origin(self.dir, "echo-head")
        proxy = self.start_proxy()
        url = b"http://127.0.0.1:%d/" % origin.port

        def send(head_fields, body):
            with socket.create_connection((HOST, proxy.port), timeout=20) as s:
                s.sendall(b"POST " + url + b" HTTP/1.1\r\nHost: x\r\n" + head_fields +
                          b"\r\n" + body)
                return read_all(s)

        reply = send(b"Content-Length: 5, 5\r\nConnection: close\r\n", b"hello")
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:200])
        seen = reply.split(b"\r\n\r\n", 1)[1].split(b"\r\n")
        self.assertIn(b"Content-Length: 5", seen)
        self.assertEqual([f for f in seen if f.lower().startswith(b"content-length")],
                         [b"Content-Length: 5"], "one length, the proxy's")
        reply = send(b"Transfer-Encoding: chunked\r\nConnection: close\r\n", b"5\r\nhello\r\n0\r\n\r\n")
        self.assertIn(b"Transfer-Encoding: chunked", reply.split(b"\r\n\r\n", 1)[1])
        smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        for fields, body in (
                (b"Content-Length: %d\r\nConnection: Content-Length\r\n" % len(smuggled),
                 smuggled),
                (b"Transfer-Encoding: chunked\r\nConnection: close, transfer-encoding\r\n",
                 b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled))):
            with self.subTest(fields=fields):
                reply = send(fields, body)
                self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:200])
                self.assertIn(b"which frames its body", reply)
                self.assertNotIn(b"smuggled", reply)
        origin.stop()
        proxy.stop()

    def test_the_idle_timeout_covers_a_whole_head(self):
        """A client sending its head a line at a time, each line well within
        --idle-timeout, is still ended once the head is not complete within
        it (slowloris)."""
        proxy = self.start_proxy("--idle-timeout", "1")
        lines = 40
        sent = 0
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(b"GET http://127.0.0.1:1/ HTTP/1.1\r\n")
            try:
                for i in range(lines):
                    time.sleep(0.3)
                    s.sendall(b"X-Line-%d: y\r\n" % i)
                    sent += 1
            except OSError:
                pass
            read_all(s)
        self.assertLess(sent, lines, "a head trickled a line at a time was never ended")
        proxy.stop()

    def test_a_preconnected_tunnel_survives_an_origin_idle_close(self):
        # A TLS origin that drops a connection idle for 0.3 s, as servers
        # with short keep-alive timeouts do; clients preconnect, then wait.
        origin = start_python_origin(self.dir, "idle-close", tls=True)
        proxy = self.start_proxy("--allow-port", str(origin.port), intercept=True)
        context = ssl.create_default_context(cafile=self.proxy_ca())
        s = tls_through(proxy, origin.port, context)
        time.sleep(1.0)
        s.sendall(b"GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        reply = read_all(s)
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:200])
        origin.stop()
        proxy.stop()

    # --- the seed session --------------------------------------------------------

    def test_seed_session_answer_ok(self):
        proxy = Proxy(self, "--answer", "OK", "--ca-out", self.proxy_ca())
        self.proxies.append(proxy)
        done = subprocess.run(["curl", "-sS", "--verbose", "--proxy", proxy.url,
                               "https://dummy.org/", "--cacert", self.proxy_ca()],
                              capture_output=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, b"OK")
        err = done.stderr.decode()
        self.assertIn("subject: CN=dummy.org", err)
        self.assertIn("SSL certificate verify ok", err)
        proxy.wait_log(r"^intercept .* GET https://dummy\.org/ -> 200 ")
        proxy.stop()

    # --- refusals and hostile peers ----------------------------------------------

    def test_malformed_requests_get_400_and_others_go_on(self):
        proxy = self.start_proxy()
        cases = {
            b"GARBAGE\r\n\r\n": b"400",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(40) + b"\r\n\r\n": b"400",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n": b"400",
            b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n": b"431",
            b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n":
                b"431",
            b"CONNECT nohost HTTP/1.1\r\n\r\n": b"400",
            b"POST http://localhost/ HTTP/1.1\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n": b"400",
        }
        for request, status in cases.items():
            with self.subTest(request=request[:40]):
                with socket.create_connection((HOST, proxy.port), timeout=20) as s:
                    s.sendall(request)
                    reply = read_all(s)
                self.assertTrue(reply.startswith(b"HTTP/1.1 " + status + b" "), reply[:200])
                self.assertIn(b"Connection: close", reply)
        status, body, _ = self.curl(proxy, f"{self.https}/1m.bin")
        self.assertEqual((status, len(body)), ("200", 1_000_000))
        proxy.stop()

    def test_https_absolute_form_obeys_the_port_allowlist(self):
        proxy = self.start_proxy()
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(b"GET https://127.0.0.1:25/ HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = read_all(s)
        self.assertTrue(reply.startswith(b"HTTP/1.1 403 "), reply[:200])
        self.assertIn(b"https:// to port 25 is not allowed", reply)
        proxy.stop()

    def test_proxy_credentials(self):
        proxy = self.start_proxy("--auth", "me:secret")
        _, _, done = self.curl(proxy, f"{self.https}/0.bin", check=False)
        self.assertIn(b"407", done.stderr)
        _, _, done = self.curl(proxy, "--proxy-user", "me:wrong", f"{self.https}/0.bin",
                               check=False)
        self.assertIn(b"407", done.stderr)
        status, body, _ = self.curl(proxy, "--proxy-user", "me:secret", f"{self.https}/1m.bin")
        self.assertEqual((status, len(body)), ("200", 1_000_000))
        status, _, _ = self.curl(proxy, "--proxy-user", "me:secret", f"{self.http}/0.bin")
        self.assertEqual(status, "200")
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(b"GET http://localhost/ HTTP/1.1\r\n\r\n")
            reply = read_all(s)
        self.assertTrue(reply.startswith(b"HTTP/1.1 407 "))
        self.assertIn(b'Proxy-Authenticate: Basic realm="uptls proxy"', reply)
        proxy.stop()

    def test_pipelined_plaintext_after_connect_never_crosses(self):
        proxy = self.start_proxy(intercept=True)
        connect = b"CONNECT localhost:%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % self.origin.tls_port
        # A ClientHello pipelined with the CONNECT goes to the handshake.
        context = ssl.create_default_context(cafile=self.proxy_ca())
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
        with self.assertRaises(ssl.SSLWantReadError):
            tls.do_handshake()
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(connect + outgoing.read())
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(1)
            self.assertEqual(head, b"HTTP/1.1 200 Connection established\r\n\r\n")
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    s.sendall(outgoing.read())
                    data = s.recv(65536)
                    self.assertTrue(data, "the proxy closed during the handshake")
                    incoming.write(data)
            s.sendall(outgoing.read())
            self.assertEqual(tls.getpeercert()["subject"], ((("commonName", "localhost"),),))
        # Plaintext pipelined after the CONNECT is not HTTP to anyone: the
        # handshake fails, and no response to it ever comes.
        with socket.create_connection((HOST, proxy.port), timeout=20) as s:
            s.sendall(connect + b"GET /1m.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            reply = read_all(s)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 Connection established\r\n\r\n"))
        self.assertNotIn(b"HTTP/1.1 200 OK", reply)
        self.assertNotIn(b"HTTP/1.1 4", reply)
        proxy.wait_log(r"^intercept .* CONNECT .*handshake failed")
        proxy.stop()

    def test_origin_that_stops_reading_hits_the_write_timeout(self):
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]
        accepted = []
        threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
        proxy = self.start_proxy("--write-timeout", "2")
        with socket.create_connection((HOST, proxy.port), timeout=30) as s:
            s.sendall(b"POST http://127.0.0.1:%d/upload HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 100000000\r\n\r\n" % port)
            try:
                chunk = b"x" * 65536
                for _ in range(100_000_000 // 65536):
                    s.sendall(chunk)
            except OSError:
                pass
            s.settimeout(30)
            reply = read_all(s)
        if reply:
            self.assertTrue(reply.startswith(b"HTTP/1.1 502 "), reply[:200])
        proxy.wait_log(r"^forward .* POST .* -> 502 .*took no data for 2000 ms \(it stopped reading\)")
        status, body, _ = self.curl(proxy, f"{self.http}/1m.bin")
        self.assertEqual((status, len(body)), ("200", 1_000_000))
        listener.close()
        for conn, _ in accepted:
            conn.close()
        proxy.stop()

    def test_clients_that_vanish(self):
        proxy = self.start_proxy(intercept=True)
        context = ssl.create_default_context(cafile=self.proxy_ca())
        # Mid-download of 100 MB.
        s = tls_through(proxy, self.origin.tls_port, context)
        s.sendall(b"GET /100m.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.recv(65536)
        s.close()
        line = proxy.wait_log(r"^intercept .* GET .*/100m\.bin -> 200 \(0 B up, (\d+) B down.*\): ")
        self.assertGreater(int(line.group(1)), 0)
        self.assertLess(int(line.group(1)), 100_000_000)
        # Mid-upload, once the proxy has the request and has passed some on.
        s = tls_through(proxy, self.origin.tls_port, context)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n")
        s.sendall(b"x" * 1_000_000)
        time.sleep(0.5)
        s.close()
        line = proxy.wait_log(r"^intercept .* POST .*/upload -> \S+ \((\d+) B up.*\): ")
        self.assertGreater(int(line.group(1)), 0)
        self.assertLess(int(line.group(1)), 10_000_000)
        status, body, _ = self.curl(proxy, f"{self.https}/1m.bin", cafile=self.proxy_ca())
        self.assertEqual((status, len(body)), ("200", 1_000_000))
        proxy.check_alive()
        proxy.stop()


ORIGIN_SCRIPT = r"""
import http.server, socket, ssl, sys, threading, time
mode, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]

class Upload(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        n = int(self.headers["Content-Length"])
        got = len(self.rfile.read(n))
        body = b"received %d bytes" % got
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

def early(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno")
    time.sleep(1)
    conn.close()

def echo_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    head = data.split(b"\r\n\r\n")[0]
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" %
                 (len(head), head))
    conn.close()

def idle_close(conn):
    conn.settimeout(0.3)
    try:
        data = conn.recv(4096)
    except socket.timeout:
        conn.close()
        return
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    conn.close()

if mode == "upload":
    server = http.server.HTTPServer(("127.0.0.1", 0), Upload)
    print(server.server_address[1], flush=True)
    server.serve_forever()
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
context = None
if cert != "-":
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
while True:
    conn, _ = listener.accept()
    if context:
        try:
            conn = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            continue
    handler = {"early": early, "echo-head": echo_head}.get(mode, idle_close)
    threading.Thread(target=handler, args=(conn,), daemon=True).start()
"""


class PythonOrigin:
    def __init__(self, proc, port):
        self.proc, self.port = proc, port

    def stop(self):
        stop_process(self.proc)


def start_python_origin(directory, mode="upload", tls=False):
    """A small origin in Python's standard library, for behaviours nginx lacks."""
    pki = os.path.join(ProxyTest.tmp, "pki")
    cert = os.path.join(pki, "origin.pem") if tls else "-"
    key = os.path.join(pki, "origin-key.pem") if tls else "-"
    proc = start_process(["/usr/bin/python3", "-c", ORIGIN_SCRIPT, mode, cert, key])
    line = proc.stdout.readline()
    return PythonOrigin(proc, int(line))


def tls_through(proxy, port, context, host="localhost", server_hostname="localhost"):
    """A TLS connection through a CONNECT tunnel to host:port; no SNI when
    server_hostname is None."""
    s = socket.create_connection((HOST, proxy.port), timeout=30)
    s.sendall(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (host.encode(), port, host.encode()))
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 200 "), head
    return context.wrap_socket(s, server_hostname=server_hostname)


def recv_response(s):
    """One response with a Content-Length body, read whole."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    while len(body) < length:
        chunk = s.recv(4096)
        assert chunk, data
        body += chunk
    return head + b"\r\n\r\n" + body


def read_all(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


if __name__ == "__main__":
    sys.exit(up.main())
