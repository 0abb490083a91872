#!/usr/bin/python3
"""uptls as a fleet: worker processes, and `uptls serve` behind HAProxy.

`uptls serve --metrics`: Prometheus's text format, as `promtool check
metrics` (Debian's prometheus package) reads it, with counts that equal what
the test did.

`uptls serve --workers 2`: one port, two processes (SO_REUSEPORT); a
session one worker started resumes on the other; a worker killed is started
again and costs only its own connections; SIGTERM drains and ends them all.

HAProxy in TCP mode with `send-proxy-v2` in front of two `uptls serve
pingpong --implicit-tls --proxy-protocol required` that share ticket keys:
each server names the true client (127.0.0.2, 127.0.0.3) and never
HAProxy's own address, and a session started on one server resumes on the
other (`openssl s_client -sess_out` / `-sess_in`).

Run: test_fleet.py --uptls build/bin/uptls [unittest options]
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import uptls_process as up  # noqa: E402
from test_tls_config import SClient  # noqa: E402
from tls_pki import PkiTestCase  # noqa: E402

HOST = up.HOST
STEP_TIMEOUT = up.STEP_TIMEOUT
LOG_TIMEOUT = 10.0


def free_port():
    """A port nobody listens on now (HAProxy binds it next)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_accepting(port, proc, timeout=up.STARTUP_TIMEOUT):
    """Waits until 127.0.0.1:port accepts a connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class HaproxyTest(PkiTestCase):
    """Two uptls servers behind one HAProxy, PROXY protocol v2."""

    PEERS = ("haproxy", "openssl")

    def fleet(self, count=2):
        """`count` servers sharing ticket keys, and HAProxy's port in front."""
        keys = os.path.join(self.tmp.name, "ticket-keys")
        with open(keys, "w", encoding="ascii") as f:
            f.write(os.urandom(80).hex() + "\n")
        servers = [up.start_uptls_serve(self, self.tmp.name, "--implicit-tls",
                                        "--cert", self.pki.server, "--key", self.pki.server_key,
                                        "--ticket-keys", keys, "--proxy-protocol", "required",
                                        "--proxy-from", "127.0.0.1/32", ca_out=False)
                   for _ in range(count)]
        port = free_port()
        config = os.path.join(self.tmp.name, "haproxy.cfg")
        backends = "".join(f"    server s{i} {HOST}:{s.port} send-proxy-v2\n"
                           for i, s in enumerate(servers))
        with open(config, "w", encoding="ascii") as f:
            f.write("global\n    nbthread 1\n"
                    "defaults\n    mode tcp\n    timeout connect 5s\n"
                    "    timeout client 30s\n    timeout server 30s\n"
                    f"frontend front\n    bind {HOST}:{port}\n    default_backend uptls\n"
                    f"backend uptls\n    balance roundrobin\n{backends}")
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        proc = up.start_process([haproxy, "-db", "-f", config])
        out, err = up.PipeReader(proc.stdout), up.PipeReader(proc.stderr)
        self.addCleanup(up.stop_process, proc, up.STOP_TIMEOUT, (out, err))
        if not wait_accepting(port, proc):
            self.fail(f"HAProxy did not listen on {HOST}:{port}\nstdout:\n{out.snapshot()}"
                      f"stderr:\n{err.snapshot()}")
        return servers, port

    def ping_from(self, source, port):
        """PING/PONG over implicit TLS through HAProxy from source; returns
        the client's own address:port as a server names it."""
        context = ssl.create_default_context(cafile=self.pki.ca)
        with socket.create_connection((HOST, port), timeout=STEP_TIMEOUT,
                                      source_address=(source, 0)) as raw:
            local = "%s:%d" % raw.getsockname()
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"PING\n")
                reply = tls.recv(100)
                self.assertEqual(reply, b"PONG\n", f"from {local}")
                tls.sendall(b"QUIT\n")
        return local

    def connections(self, servers, total=None):
        """The number of connections each server has logged; with total,
        waits (bounded) until they add up to it."""
        deadline = time.monotonic() + LOG_TIMEOUT
        while True:
            counts = [len(re.findall(r"^Client connected from ", s.stdout.snapshot(), re.M))
                      for s in servers]
            if total is None or sum(counts) >= total or time.monotonic() > deadline:
                return counts
            time.sleep(0.05)

    def test_servers_name_the_true_clients(self):
        servers, port = self.fleet()
        clients = [self.ping_from(source, port)
                   for source in ("127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3")]
        self.connections(servers, total=len(clients))
        logs = [s.stdout.snapshot() for s in servers]
        described = "\n".join(s.describe_running() for s in servers)
        served_by = {}
        for client in clients:
            named = [i for i, log in enumerate(logs)
                     if re.search(rf"^Client connected from {re.escape(client)}$", log, re.M)]
            self.assertEqual(len(named), 1, f"{client} was named by servers {named}\n{described}")
            served_by[client] = named[0]
        self.assertEqual(set(served_by.values()), set(range(len(servers))),
                         f"HAProxy balanced every client to one server: {served_by}")
        for log in logs:
            self.assertNotRegex(log, r"from 127\.0\.0\.1:",
                                "a server named HAProxy's address instead of the client's\n"
                                + described)

    def test_uptls_proxy_names_its_client_to_the_origin(self):
        """`uptls proxy --send-proxy v2`: a CONNECT tunnel's origin behind
        `--proxy-protocol required` names the proxy's client, not the proxy."""
        origin = up.start_uptls_serve(self, self.tmp.name, "--implicit-tls",
                                      "--cert", self.pki.server, "--key", self.pki.server_key,
                                      "--proxy-protocol", "required",
                                      "--proxy-from", "127.0.0.1/32", ca_out=False)
        proc = up.start_process([up.UPTLS, "proxy", "--listen", f"{HOST}:0", "--send-proxy", "v2",
                                 "--allow-port", str(origin.port)])
        out, err = up.PipeReader(proc.stdout), up.PipeReader(proc.stderr)
        self.addCleanup(up.stop_process, proc, up.STOP_TIMEOUT, (out, err))
        hit = out.wait_for(r"^listening on [\d.]+:(\d+) ", up.STARTUP_TIMEOUT)
        self.assertIsNotNone(hit, f"stdout:\n{out.snapshot()}stderr:\n{err.snapshot()}")
        proxy_port = int(hit[1].group(1))
        context = ssl.create_default_context(cafile=self.pki.ca)
        with socket.create_connection((HOST, proxy_port), timeout=STEP_TIMEOUT,
                                      source_address=("127.0.0.2", 0)) as raw:
            client = "%s:%d" % raw.getsockname()
            raw.sendall(f"CONNECT {HOST}:{origin.port} HTTP/1.1\r\n"
                        f"Host: {HOST}:{origin.port}\r\n\r\n".encode())
            response = b""
            while b"\r\n\r\n" not in response:
                chunk = raw.recv(1000)
                self.assertTrue(chunk, f"the proxy closed: {response!r}")
                response += chunk
            self.assertTrue(response.startswith(b"HTTP/1.1 200"), response)
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"PING\n")
                self.assertEqual(tls.recv(100), b"PONG\n")
                tls.sendall(b"QUIT\n")
        self.assertIsNotNone(
            origin.stdout.wait_for(rf"^Client connected from {re.escape(client)}$", LOG_TIMEOUT),
            f"the origin did not name {client}\n" + origin.describe_running())

    def test_a_session_resumes_on_the_other_server(self):
        servers, port = self.fleet()
        session = os.path.join(self.tmp.name, "session.pem")

        def s_client(*args):
            c = SClient(self, port, *args, cafile=self.pki.ca)
            c.got_pong = c.ping()
            if c.got_pong:
                c.quit()
            else:
                c.finish()
            self.assertTrue(c.got_pong, "no PONG through HAProxy\n" + c.describe())
            return c

        before = self.connections(servers)
        first = s_client("-sess_out", session)
        self.assertRegex(first.stdout(), re.compile(r"^New, TLSv1\.3, ", re.M), first.describe())
        self.assertTrue(os.path.getsize(session) > 0, "no ticket was saved\n" + first.describe())
        middle = self.connections(servers, total=sum(before) + 1)
        second = s_client("-sess_in", session)
        self.assertRegex(second.stdout(), re.compile(r"^Reused, TLSv1\.3, ", re.M),
                         "the session did not resume on the other server\n" + second.describe())
        after = self.connections(servers, total=sum(middle) + 1)
        first_server = [m - b for m, b in zip(middle, before)]
        second_server = [a - m for a, m in zip(after, middle)]
        self.assertEqual(sorted(first_server), [0, 1], f"{before} {middle}")
        self.assertEqual(sorted(second_server), [0, 1], f"{middle} {after}")
        self.assertNotEqual(first_server, second_server,
                            "both sessions were served by one server: nothing was shared")


def children(pid):
    """The child processes of pid (Linux's /proc)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def socket_owner(server_port, client_port, pids):
    """Which of pids holds the server's end of the TCP connection from
    client_port to server_port (/proc/net/tcp and /proc/PID/fd), or None."""
    inode = None
    with open("/proc/net/tcp", encoding="ascii") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (int(local.split(":")[1], 16) == server_port
                    and int(remote.split(":")[1], 16) == client_port):
                inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
        except OSError:
            continue
    return None


class WorkersTest(PkiTestCase):
    """`uptls serve pingpong --implicit-tls --workers 2`."""

    def serve(self):
        server = up.start_uptls_serve(self, self.tmp.name, "--implicit-tls", "--workers", "2",
                                      "--threads", "1", "--cert", self.pki.server,
                                      "--key", self.pki.server_key, ca_out=False)
        deadline = time.monotonic() + STEP_TIMEOUT
        while len(children(server.proc.pid)) != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(children(server.proc.pid)), 2, server.describe_running())
        return server

    def connect(self, server):
        """An open TLS connection; (socket, the worker that holds it)."""
        context = ssl.create_default_context(cafile=self.pki.ca)
        raw = socket.create_connection((HOST, server.port), timeout=STEP_TIMEOUT)
        tls = context.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(tls.close)
        tls.sendall(b"PING\n")
        self.assertEqual(tls.recv(100), b"PONG\n")
        owner = socket_owner(server.port, tls.getsockname()[1], children(server.proc.pid))
        self.assertIsNotNone(owner, "no worker holds the connection\n" + server.describe_running())
        return tls, owner

    def test_a_session_resumes_on_any_worker(self):
        server = self.serve()
        session = os.path.join(self.tmp.name, "session.pem")
        first = SClient(self, server.port, "-sess_out", session, cafile=self.pki.ca)
        self.assertTrue(first.ping(), first.describe())
        first.quit()
        self.assertTrue(os.path.getsize(session) > 0, "no ticket\n" + first.describe())
        workers = set()
        for _ in range(16):
            c = SClient(self, server.port, "-sess_in", session, cafile=self.pki.ca)
            self.assertTrue(c.ping(), c.describe())
            self.assertRegex(c.stdout(), re.compile(r"^Reused, TLSv1\.3, ", re.M), c.describe())
            workers.add(self.owner_of_s_client(server, c))
            c.quit()
        workers.discard(None)
        self.assertEqual(len(workers), 2, f"the sessions were resumed by workers {workers} only")

    def owner_of_s_client(self, server, client):
        """The worker serving an s_client child (found by its socket)."""
        for fd in os.listdir(f"/proc/{client.proc.pid}/fd"):
            try:
                link = os.readlink(f"/proc/{client.proc.pid}/fd/{fd}")
            except OSError:
                continue
            if not link.startswith("socket:["):
                continue
            inode = link[8:-1]
            with open("/proc/net/tcp", encoding="ascii") as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[9] == inode and int(fields[2].split(":")[1], 16) == server.port:
                        client_port = int(fields[1].split(":")[1], 16)
                        return socket_owner(server.port, client_port, children(server.proc.pid))
        return None

    def test_a_dead_worker_is_started_again_and_costs_only_its_connections(self):
        server = self.serve()
        held = [self.connect(server) for _ in range(12)]
        owners = {owner for _, owner in held}
        self.assertEqual(len(owners), 2, f"every connection went to one worker: {owners}")
        victim = held[0][1]
        os.kill(victim, signal.SIGKILL)
        hit = server.stderr.wait_for(rf"worker \d \(pid {victim}\) was killed", LOG_TIMEOUT)
        self.assertIsNotNone(hit, server.describe_running())
        self.assertIsNotNone(server.stderr.wait_for(r"starting worker \d again", LOG_TIMEOUT),
                             server.describe_running())
        for tls, owner in held:
            if owner == victim:
                continue
            tls.sendall(b"PING\n")
            self.assertEqual(tls.recv(100), b"PONG\n", "a connection of the other worker was lost")
        deadline = time.monotonic() + STEP_TIMEOUT
        while (len(children(server.proc.pid)) != 2 or victim in children(server.proc.pid)) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(children(server.proc.pid)), 2, server.describe_running())
        self.connect(server)
        # stop_and_check (the cleanup): SIGTERM, the workers drain, exit 0.


def scrape(url):
    """The text at url (the /metrics page)."""
    with urllib.request.urlopen(url, timeout=STEP_TIMEOUT) as response:
        return response.status, response.headers.get("Content-Type"), response.read().decode()


def sample(text, name, **labels):
    """The value of the sample name{labels...}, labels in any order (0 if absent)."""
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if not m:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(2))
    return 0.0


class MetricsTest(PkiTestCase):
    """`uptls serve pingpong --starttls-reply READY --metrics 127.0.0.1:0`."""

    PEERS = ("openssl", "promtool")

    def starttls_session(self, server, context):
        """PING, STARTTLS, handshake, PING, QUIT."""
        with socket.create_connection((HOST, server.port), timeout=STEP_TIMEOUT) as raw:
            raw.sendall(b"PING\n")
            self.assertEqual(raw.recv(100), b"PONG\n")
            raw.sendall(b"STARTTLS\n")
            self.assertEqual(raw.recv(100), b"READY\n")
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"PING\n")
                self.assertEqual(tls.recv(100), b"PONG\n")
                tls.sendall(b"QUIT\n")
                tls.recv(100)

    def test_counts_are_what_happened_and_promtool_reads_them(self):
        server = up.start_uptls_serve(self, self.tmp.name, "--starttls-reply", "READY",
                                      "--cert", self.pki.server, "--key", self.pki.server_key,
                                      "--idle-timeout", "1", "--metrics", f"{HOST}:0",
                                      ca_out=False)
        hit = server.stderr.wait_for(r"metrics on (http://\S+)$", LOG_TIMEOUT)
        self.assertIsNotNone(hit, server.describe_running())
        url = hit[1].group(1)
        context = ssl.create_default_context(cafile=self.pki.ca)
        for _ in range(3):
            self.starttls_session(server, context)
        # A handshake that fails: not TLS after READY.
        with socket.create_connection((HOST, server.port), timeout=STEP_TIMEOUT) as raw:
            raw.sendall(b"STARTTLS\n")
            self.assertEqual(raw.recv(100), b"READY\n")
            raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
            raw.recv(100)
        # A client that says nothing: closed after --idle-timeout.
        with socket.create_connection((HOST, server.port), timeout=STEP_TIMEOUT) as idle:
            self.assertEqual(idle.recv(100), b"")
        deadline = time.monotonic() + LOG_TIMEOUT
        while True:
            status, content_type, text = scrape(url)
            done = sample(text, "uptls_connections_open", protocol="pingpong") == 0
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        checked = subprocess.run(["promtool", "check", "metrics"], input=text,
                                    capture_output=True, text=True, timeout=STEP_TIMEOUT)
        self.assertEqual(checked.returncode, 0, f"promtool:\n{checked.stdout}{checked.stderr}\n{text}")
        counts = {
            ("uptls_connections_total", ()): 5,
            ("uptls_connections_open", ()): 0,
            ("uptls_upgrades_total", ()): 3,
            ("uptls_handshakes_total", (("outcome", "failed"), ("upgrade", "true"))): 1,
            ("uptls_failures_total", (("reason", "tls"),)): 1,
            ("uptls_failures_total", (("reason", "idle_timeout"),)): 1,
            ("uptls_handshake_duration_seconds_count", ()): 4,
            # 3 x (PING, STARTTLS, PING, QUIT) and one STARTTLS; 3 x (PONG, READY, PONG), READY.
            ("uptls_received_bytes_total", ()): 3 * 24 + 9,
            ("uptls_sent_bytes_total", ()): 3 * 16 + 6,
        }
        for (name, labels), want in counts.items():
            self.assertEqual(sample(text, name, protocol="pingpong", **dict(labels)), want,
                             f"{name}{dict(labels)}\n{text}")
        ok = sum(sample(text, "uptls_handshakes_total", outcome=o, upgrade="true",
                        version="TLSv1.3") for o in ("full", "resumed"))
        self.assertEqual(ok, 3, text)

        # The metrics' own server bounds a whole request head, not each line:
        # a client that sends a field line a second is closed all the same.
        host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
        with socket.create_connection((host, int(port)), timeout=STEP_TIMEOUT) as trickler:
            trickler.sendall(b"GET /metrics HTTP/1.1\r\n")
            closed = False
            for i in range(40):
                try:
                    trickler.sendall(b"X-%d: y\r\n" % i)
                    trickler.settimeout(1.0)
                    if trickler.recv(100) == b"":
                        closed = True
                        break
                except TimeoutError:
                    continue
                except OSError:
                    closed = True
                    break
            self.assertTrue(closed, "a client trickling field lines kept the metrics server's "
                            "connection open for 40 lines")


if __name__ == "__main__":
    sys.exit(up.main())
