"""Support for the STARTTLS interop tests: `uptls serve PROTO` children,
bounded runs of real clients, and scripted hostile servers for the EAST
cases (a server that strips STARTTLS, injects a response, ...).

Standard library only (Debian's Python 3.11).
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import threading

import uptls_process as up
from uptls_process import HOST, PipeReader, start_process, stop_process

_LISTENING = r"^listening on 127\.0\.0\.1:(\d+) \("
RUN_TIMEOUT = 60


def uptls(*args, cwd=None):
    """Runs a uptls command that must succeed; returns its stdout."""
    done = subprocess.run([up.UPTLS, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)
    if done.returncode != 0:
        raise AssertionError(f"uptls {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def run(cmd, input_text=None, timeout=RUN_TIMEOUT):
    """Runs a client to the end, bounded; returns the CompletedProcess (text)."""
    return subprocess.run(cmd, input=input_text, capture_output=True, text=True,
                          timeout=timeout)


def make_pki(directory):
    """A CA and a certificate for localhost and 127.0.0.1 made by `uptls cert`:
    returns (ca.pem, srv.pem, srv-key.pem)."""
    os.makedirs(directory, exist_ok=True)
    uptls("cert", "ca", "--dir", directory)
    uptls("cert", "issue", "--dir", directory, "localhost", "127.0.0.1", "--out", "srv")
    return tuple(os.path.join(directory, name) for name in ("ca.pem", "srv.pem", "srv-key.pem"))


class Served:
    """A `uptls serve PROTO` child: its port, its CA, its log, a clean stop."""

    def __init__(self, testcase, protocol, tmpdir, *args):
        self.testcase = testcase
        self.ca = os.path.join(tmpdir, f"{protocol}-ca.pem")
        self.cmd = [up.UPTLS, "serve", protocol, "--listen", f"{HOST}:0", "--ca-out", self.ca,
                    *args]
        self.proc = start_process(self.cmd)
        self.out = PipeReader(self.proc.stdout)
        self.err = PipeReader(self.proc.stderr)
        found = self.out.wait_for(_LISTENING, up.STARTUP_TIMEOUT)
        if not found:
            stop_process(self.proc, readers=(self.out, self.err))
            raise AssertionError(f"uptls serve {protocol} did not start:\n" + self.out.snapshot()
                                 + self.err.snapshot())
        self.port = int(found[1].group(1))
        self.mark = 0

    def log_mark(self):
        """Where wait_log starts looking: only lines logged from now on."""
        self.mark = self.out.line_count()
        return self.mark

    def wait_log(self, pattern, timeout=20.0):
        found = self.out.wait_for(pattern, timeout, self.mark)
        self.testcase.assertIsNotNone(
            found, f"the server logged no line matching {pattern!r}:\n"
                   f"{self.out.snapshot(self.mark)}")
        return found[1]

    def check_alive(self):
        self.testcase.assertIsNone(self.proc.poll(), "the server exited:\n" + self.err.snapshot())

    def stop(self):
        code, killed = stop_process(self.proc, readers=(self.out, self.err))
        if killed or code != 0:
            raise AssertionError(f"uptls serve exited {code} (killed: {killed}):\n"
                                 + self.err.text())


class Line:
    """A plain socket read line by line (the test's side of a session)."""

    def __init__(self, port, timeout=20.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.pending = b""

    def line(self):
        while b"\n" not in self.pending:
            chunk = self.sock.recv(4096)
            if not chunk:
                rest, self.pending = self.pending, b""
                return rest.decode("latin-1") if rest else None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode("latin-1").rstrip("\r")

    def reply(self, final=lambda line: len(line) < 4 or line[3] != "-"):
        """Lines up to the one final() accepts (SMTP-style by default)."""
        lines = []
        while True:
            line = self.line()
            if line is None:
                return lines
            lines.append(line)
            if final(line):
                return lines

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def rest(self):
        """Everything until the peer closes (or resets)."""
        data = self.pending
        self.pending = b""
        try:
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        return data.decode("latin-1")

    def close(self):
        self.sock.close()


class ScriptedServer:
    """A one-connection-at-a-time TCP server on 127.0.0.1 that runs
    script(conn, tls) for each client: the hostile servers of the EAST cases.
    tls(conn) wraps the socket in TLS with the given certificate."""

    def __init__(self, script, cert, key):
        self.script = script
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server((HOST, 0))
        self.listener.settimeout(0.5)
        self.port = self.listener.getsockname()[1]
        self.errors = []
        self.wrapped = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def tls(self, conn):
        secure = self.context.wrap_socket(conn, server_side=True)
        self.wrapped.append(secure)
        return secure

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(20)
            try:
                self.script(conn, self.tls)
            except (OSError, ssl.SSLError) as exc:
                self.errors.append(exc)
            finally:
                for secure in self.wrapped:
                    secure.close()
                self.wrapped.clear()
                conn.close()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.listener.close()


def read_line(conn):
    """One line from a raw socket, byte by byte (so nothing after it is read)."""
    data = b""
    while not data.endswith(b"\n"):
        byte = conn.recv(1)
        if not byte:
            break
        data += byte
    return data.decode("latin-1")

