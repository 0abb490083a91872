"""Child processes for the interop tests: `uptls`, `openssl`, `curl`.

Standard library only (Python 3.11).  Shared by test_pingpong.py and
test_tls_config.py:

* PipeReader        - drains a child's pipe on a thread; lines can be waited
                      for one by one (next_line) or by pattern (wait_for).
* start_process()   - Popen that is remembered, so nothing outlives the run.
* stop_process()    - SIGTERM to the child's own PID, wait, SIGKILL after a
                      timeout, close the pipes.
* UptlsServe, start_uptls_serve()
                    - a `uptls serve pingpong` child, its `listening on`
                      line, and a cleanup that expects exit status 0 on SIGTERM.
* run_command(), run_uptls_client()
                    - a bounded one-shot child from asyncio code.
* run_async()       - asyncio.run() with an overall timeout.
* main()            - `--uptls PATH [unittest options]` for a test module;
                      its exit status tells CTest about skips (see below).
* missing_peer(), DOES_NOT_APPLY
                    - the reasons of skips.

A skipped test is not a passed one: main() exits with SKIP_RETURN_CODE (77,
CTest's SKIP_RETURN_CODE) when any test was skipped and none failed, unless
the reason starts with DOES_NOT_APPLY (a check that has no meaning in this
build, such as running out of descriptors under a sanitizer). A skip for a
peer that scripts/test installs (missing_peer()) fails the run under
CI=true or UPTLS_REQUIRE_PEERS=1, which scripts/test sets.

Set UPTLS (the binary's path) before starting `uptls` children; main() does.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import queue
import re
import resource
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

import seed_peers as sp

UPTLS = None            # path of the uptls binary; set by main() from --uptls

SKIP_RETURN_CODE = 77
MISSING_PEER = "missing peer: "
DOES_NOT_APPLY = "does not apply: "


def missing_peer(what):
    """The reason of a skip because a peer (a program, a package) is missing."""
    return MISSING_PEER + what


def peers_required():
    """Whether a missing peer fails the run: the test command installs every peer."""
    return os.environ.get("CI") == "true" or os.environ.get("UPTLS_REQUIRE_PEERS") == "1"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 20.0  # until `listening on ...`
STOP_TIMEOUT = 10.0     # SIGTERM -> exit
STEP_TIMEOUT = sp.DEFAULT_TIMEOUT
CLIENT_TIMEOUT = 30.0   # a whole `uptls client pingpong` run

_LISTENING_RE = re.compile(
    r"^listening on (?:\[(?P<host6>[^\]]+)\]|(?P<host>[^\s:\[\]]+)):(?P<port>\d+)"
    r"(?: \((?:\d+ workers of )?\d+ threads?\))?$")

# Every child we start, so that nothing survives even an unexpected crash.
_live_processes = set()


def reap_all():
    """Kill (by PID) and wait for every child start_process() started."""
    for proc in list(_live_processes):
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        _live_processes.discard(proc)


atexit.register(reap_all)


def run_async(coro, timeout):
    """asyncio.run(coro) bounded by `timeout` seconds overall."""
    async def bounded():
        try:
            return await asyncio.wait_for(coro, timeout)
        except TimeoutError:
            raise AssertionError(f"test body timed out after {timeout:g}s") from None
    return asyncio.run(bounded())


class PipeReader(threading.Thread):
    """Drain a child's pipe line by line: a queue for waiting, a transcript for errors.

    next_line() consumes lines from the queue in order; wait_for() and
    lines() look at the transcript, which keeps every line, so the two ways
    of waiting do not interfere.
    """

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines = queue.Queue()  # str lines, then None at EOF
        self._transcript = []
        self._eof = False
        self._changed = threading.Condition()
        self.start()

    def run(self):
        try:
            for raw in iter(self.pipe.readline, b""):
                line = raw.decode("utf-8", "replace")
                with self._changed:
                    self._transcript.append(line)
                    self._changed.notify_all()
                self.lines.put(line)
        except (OSError, ValueError):
            pass
        finally:
            with self._changed:
                self._eof = True
                self._changed.notify_all()
            self.lines.put(None)

    def next_line(self, timeout):
        """Next line (str), None at EOF; raises queue.Empty on timeout."""
        return self.lines.get(timeout=max(timeout, 0.0))

    def line_count(self):
        """Lines read so far: a mark for wait_for(start=...)."""
        with self._changed:
            return len(self._transcript)

    def wait_for(self, pattern, timeout, start=0):
        """First line at index >= start in which regex `pattern` is found.

        Returns (index, match), or None at EOF or after `timeout` seconds.
        """
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self._changed:
            while True:
                while i < len(self._transcript):
                    m = rx.search(self._transcript[i].rstrip("\r\n"))
                    if m:
                        return i, m
                    i += 1
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def snapshot(self, start=0):
        """The lines read so far from index `start`, joined."""
        with self._changed:
            return "".join(self._transcript[start:])

    def text(self, join_timeout=2.0):
        self.join(join_timeout)
        return self.snapshot()


def stop_process(proc, timeout=STOP_TIMEOUT, readers=()):
    """SIGTERM `proc` (by its PID), wait, SIGKILL after `timeout`.

    Then let the `readers` reach EOF and close the child's pipes.
    Returns (returncode, was_killed).
    """
    killed = False
    try:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                killed = True
                proc.wait(timeout)
    finally:
        if proc.poll() is not None:
            _live_processes.discard(proc)
        _close_pipes(proc, readers)
    return proc.returncode, killed


def _close_pipes(proc, readers):
    for reader in readers:
        reader.join(5)
    busy = {id(r.pipe) for r in readers if r.is_alive()}
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        # Never close a pipe a reader thread still blocks on (it holds the lock).
        if pipe is not None and id(pipe) not in busy:
            try:
                pipe.close()
            except OSError:
                pass


def start_process(cmd, stdin=subprocess.DEVNULL, max_descriptors=None, cwd=None):
    """Popen(cmd) with stdout and stderr piped, remembered for reap_all().

    max_descriptors: the child's RLIMIT_NOFILE, soft and hard.
    cwd: the child's working directory (where a core dump would land).
    """
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (max_descriptors, max_descriptors))
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            preexec_fn=limit if max_descriptors else None, cwd=cwd)
    _live_processes.add(proc)
    return proc


class UptlsServe:
    """A running `uptls serve pingpong` child.

    Use start_uptls_serve(); it registers stop_and_check() as a test cleanup.
    """

    def __init__(self, listen_host, args, ca_path, max_descriptors=None):
        if UPTLS is None:
            raise RuntimeError("uptls_process.UPTLS is not set (run through main())")
        self.listen_host = listen_host
        self.ca = ca_path
        self.cmd = [UPTLS, "serve", "pingpong", "--listen",
                    f"[{listen_host}]:0" if ":" in listen_host else f"{listen_host}:0",
                    *args]
        self.proc = start_process(self.cmd, max_descriptors=max_descriptors)
        self.stdout = PipeReader(self.proc.stdout)
        self.stderr = PipeReader(self.proc.stderr)
        self.host = None
        self.port = None
        self._stopped = False

    def describe(self):
        return (f"command: {' '.join(self.cmd)}\n"
                f"exit status: {self.proc.returncode}\n"
                f"stdout:\n{self.stdout.text()}stderr:\n{self.stderr.text()}")

    def describe_running(self):
        """Like describe(), without waiting for the pipes to end."""
        return (f"command: {' '.join(self.cmd)}\n"
                f"exit status: {self.proc.poll()}\n"
                f"stdout:\n{self.stdout.snapshot()}stderr:\n{self.stderr.snapshot()}")

    def wait_listening(self, timeout=STARTUP_TIMEOUT):
        try:
            line = self.stdout.next_line(timeout)
        except queue.Empty:
            self.stop()
            raise AssertionError(f"no 'listening on' line within {timeout:g}s\n"
                                 + self.describe()) from None
        if line is None:
            self.stop()
            raise AssertionError("uptls serve closed stdout before 'listening on'\n"
                                 + self.describe())
        m = _LISTENING_RE.match(line.rstrip("\r\n"))
        if not m:
            self.stop()
            raise AssertionError(f"first stdout line is not 'listening on HOST:PORT': {line!r}\n"
                                 + self.describe())
        self.host = m.group("host6") or m.group("host")
        self.port = int(m.group("port"))
        if self.host != self.listen_host or not 0 < self.port < 65536:
            self.stop()
            raise AssertionError(f"bad listening line {line!r} for --listen "
                                 f"{self.listen_host}:0\n" + self.describe())

    def check_alive(self):
        if self.proc.poll() is not None:
            raise AssertionError("uptls serve exited while it should be serving\n"
                                 + self.describe())

    def send_signal(self, signum):
        """Signal the child by its own PID (it must still be running)."""
        self.check_alive()
        self.proc.send_signal(signum)

    def stop(self):
        if self._stopped:
            return self.proc.returncode, False
        self._stopped = True
        return stop_process(self.proc, readers=(self.stdout, self.stderr))

    def stop_and_check(self):
        """Cleanup: the server must still run, then exit 0 on SIGTERM."""
        if self._stopped:
            return
        died_early = self.proc.poll() is not None
        rc, killed = self.stop()
        if died_early:
            raise AssertionError("uptls serve exited before the test stopped it\n"
                                 + self.describe())
        if killed:
            raise AssertionError(f"uptls serve ignored SIGTERM for {STOP_TIMEOUT:g}s "
                                 "and was killed\n" + self.describe())
        if rc != 0:
            raise AssertionError(f"uptls serve exited {rc} after SIGTERM (expected 0)\n"
                                 + self.describe())


def start_uptls_serve(testcase, tmpdir, *extra, listen_host=HOST, ca_out=True,
                      max_descriptors=None):
    """Start `uptls serve pingpong --listen HOST:0 [--ca-out CA] EXTRA...`.

    max_descriptors: the server's RLIMIT_NOFILE (soft and hard).
    Waits for the `listening on` line, checks the CA file, and registers the
    stop (SIGTERM, exit status 0) as a cleanup of `testcase`.
    """
    args = list(extra)
    ca = None
    if ca_out:
        ca = os.path.join(tmpdir, f"uptls-ca-{len(os.listdir(tmpdir))}.pem")
        args += ["--ca-out", ca]
    server = UptlsServe(listen_host, args, ca, max_descriptors)
    testcase.addCleanup(server.stop_and_check)
    server.wait_listening()
    if ca is not None:
        try:
            sp.client_context(ca)
        except (OSError, ssl.SSLError) as exc:
            raise AssertionError(f"--ca-out file {ca} is not a usable CA PEM "
                                 f"when 'listening on' is printed: {exc!r}\n"
                                 + server.describe()) from None
    return server


async def run_command(cmd, timeout=CLIENT_TIMEOUT):
    """Run `cmd` (stdin /dev/null) from asyncio code, bounded by `timeout`.

    Returns (returncode, stdout, stderr, command line); kills the child (by
    its PID) if it overruns.
    """
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        raise AssertionError(f"{' '.join(cmd)} did not finish within {timeout:g}s") from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return (proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
            " ".join(cmd))


async def run_uptls_client(port, cafile, servername, host=HOST, timeout=CLIENT_TIMEOUT):
    """Run `uptls client pingpong HOST:PORT --cafile F --servername N`.

    Returns (returncode, stdout, stderr, command line).
    """
    cmd = [UPTLS, "client", "pingpong", f"{host}:{port}", "--cafile", cafile,
           "--servername", servername]
    return await run_command(cmd, timeout)


class TlsFront:
    """A TLS front for a plaintext service (what stunnel does), made of
    Python's ssl module: each connection's TLS ends here and its bytes go on
    to 127.0.0.1:backend; `from_client` keeps what the clients sent."""

    def __init__(self, cert, key, backend):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.backend = backend
        self.from_client = bytearray()
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            try:
                client = self.context.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()
                continue
            upstream = socket.create_connection((HOST, self.backend))
            threading.Thread(target=self.pipe, args=(upstream, client, False), daemon=True).start()
            self.pipe(client, upstream, True)

    def pipe(self, source, target, count):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if count:
                    self.from_client += data
                target.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_classes(module):
    """The names of module's classes that have tests to run, in order: what
    `--list-classes` prints, one CTest entry each."""
    names = []
    for suite in unittest.defaultTestLoader.loadTestsFromModule(module):
        for test in suite:
            name = type(test).__name__
            if name not in names:
                names.append(name)
    return names


def main():
    """Entry point of a test module: `--uptls PATH [unittest options]`, or
    `--list-classes`."""
    global UPTLS
    if sys.argv[1:] == ["--list-classes"]:
        print("\n".join(test_classes(sys.modules["__main__"])))
        return 0
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--uptls", default=os.environ.get("UPTLS"))
    args, rest = parser.parse_known_args()
    if not args.uptls:
        print(f"usage: {sys.argv[0]} --uptls PATH [unittest options]", file=sys.stderr)
        return 2
    UPTLS = os.path.abspath(args.uptls)
    if not (os.path.isfile(UPTLS) and os.access(UPTLS, os.X_OK)):
        print(f"{sys.argv[0]}: --uptls {UPTLS}: not an executable file", file=sys.stderr)
        return 2
    try:
        program = unittest.main(module="__main__", argv=[sys.argv[0]] + rest, exit=False)
    finally:
        reap_all()
    return exit_status(program.result)


def exit_status(result):
    """0 when every test passed, 1 on a failure, SKIP_RETURN_CODE on a skip."""
    if not result.wasSuccessful():
        return 1
    skipped = [(test, reason) for test, reason in result.skipped
               if not reason.startswith(DOES_NOT_APPLY)]
    for test, reason in skipped:
        print(f"SKIPPED {test.id()}: {reason}", file=sys.stderr)
    missing = [reason for _, reason in skipped if reason.startswith(MISSING_PEER)]
    if missing and peers_required():
        print(f"{len(missing)} test(s) skipped for a missing peer, which the test command "
              "installs (CI=true or UPTLS_REQUIRE_PEERS=1): failing", file=sys.stderr)
        return 1
    return SKIP_RETURN_CODE if skipped else 0
