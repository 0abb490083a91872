#!/usr/bin/python3
"""Interop tests: `uptls ... pingpong` against CPython's ssl and the openssl CLI.

Usage:
    /usr/bin/python3 tests/interop/test_pingpong.py --uptls PATH [unittest args]

Each test starts the processes it needs on 127.0.0.1 (or ::1) with port 0 and
stops them itself (SIGTERM to its own PID, wait, SIGKILL after a timeout).
Standard library only; the Python peers live in seed_peers.py.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import queue
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

sys.dont_write_bytecode = True  # keep tests/interop free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_peers as sp  # noqa: E402

UPTLS = None            # set by main() from --uptls
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 20.0  # until `listening on ...`
STOP_TIMEOUT = 10.0     # SIGTERM -> exit
STEP_TIMEOUT = sp.DEFAULT_TIMEOUT
CLIENT_TIMEOUT = 30.0   # a whole `uptls client pingpong` run

_LISTENING_RE = re.compile(
    r"^listening on (?:\[(?P<host6>[^\]]+)\]|(?P<host>[^\s:\[\]]+)):(?P<port>\d+)$")

# Every child we start, so that nothing survives even an unexpected crash.
_live_processes = set()


def _reap_all():
    for proc in list(_live_processes):
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        _live_processes.discard(proc)


atexit.register(_reap_all)


def _ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def run_async(coro, timeout):
    """asyncio.run(coro) bounded by `timeout` seconds overall."""
    async def bounded():
        try:
            return await asyncio.wait_for(coro, timeout)
        except TimeoutError:
            raise AssertionError(f"test body timed out after {timeout:g}s") from None
    return asyncio.run(bounded())


class _PipeReader(threading.Thread):
    """Drain a child's pipe line by line: a queue for waiting, a transcript for errors."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines = queue.Queue()  # str lines, then None at EOF
        self._transcript = []
        self.start()

    def run(self):
        try:
            for raw in iter(self.pipe.readline, b""):
                line = raw.decode("utf-8", "replace")
                self._transcript.append(line)
                self.lines.put(line)
        except (OSError, ValueError):
            pass
        finally:
            self.lines.put(None)

    def next_line(self, timeout):
        """Next line (str), None at EOF; raises queue.Empty on timeout."""
        return self.lines.get(timeout=max(timeout, 0.0))

    def text(self, join_timeout=2.0):
        self.join(join_timeout)
        return "".join(self._transcript)


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


def _start_process(cmd):
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    _live_processes.add(proc)
    return proc


class UptlsServe:
    """A running `uptls serve pingpong` child.

    Use start_uptls_serve(); it registers stop_and_check() as a test cleanup.
    """

    def __init__(self, listen_host, args, ca_path):
        self.listen_host = listen_host
        self.ca = ca_path
        self.cmd = [UPTLS, "serve", "pingpong", "--listen",
                    f"[{listen_host}]:0" if ":" in listen_host else f"{listen_host}:0",
                    *args]
        self.proc = _start_process(self.cmd)
        self.stdout = _PipeReader(self.proc.stdout)
        self.stderr = _PipeReader(self.proc.stderr)
        self.host = None
        self.port = None
        self._stopped = False

    def describe(self):
        return (f"command: {' '.join(self.cmd)}\n"
                f"exit status: {self.proc.returncode}\n"
                f"stdout:\n{self.stdout.text()}stderr:\n{self.stderr.text()}")

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


def start_uptls_serve(testcase, tmpdir, *extra, listen_host=HOST, ca_out=True):
    """Start `uptls serve pingpong --listen HOST:0 [--ca-out CA] EXTRA...`.

    Waits for the `listening on` line, checks the CA file, and registers the
    stop (SIGTERM, exit status 0) as a cleanup of `testcase`.
    """
    args = list(extra)
    ca = None
    if ca_out:
        ca = os.path.join(tmpdir, f"uptls-ca-{len(os.listdir(tmpdir))}.pem")
        args += ["--ca-out", ca]
    server = UptlsServe(listen_host, args, ca)
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


async def run_uptls_client(port, cafile, servername, host=HOST, timeout=CLIENT_TIMEOUT):
    """Run `uptls client pingpong HOST:PORT --cafile F --servername N`.

    Returns (returncode, stdout, stderr, command line).
    """
    cmd = [UPTLS, "client", "pingpong", f"{host}:{port}", "--cafile", cafile,
           "--servername", servername]
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


class PingPongInterop(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="uptls-interop-")
        self.addCleanup(self.tmp.cleanup)  # runs after process cleanups (LIFO)

    def serve(self, *extra, **kw):
        return start_uptls_serve(self, self.tmp.name, *extra, **kw)

    def require_openssl(self):
        if shutil.which("openssl") is None:
            self.skipTest("openssl command line tool not found")

    # -- Python seed client vs `uptls serve pingpong` --------------------

    def test_seed_client_200_sequential(self):
        srv = self.serve()
        ctx = sp.client_context(srv.ca)

        async def body():
            for i in range(200):
                try:
                    await sp.seed_client_session(srv.host, srv.port, ctx, "localhost")
                except Exception as exc:
                    raise AssertionError(f"session {i + 1}/200 failed: {exc!r}") from exc

        run_async(body(), 600)
        srv.check_alive()

    def test_seed_client_50_concurrent(self):
        srv = self.serve()
        ctx = sp.client_context(srv.ca)

        async def body():
            return await asyncio.gather(
                *(sp.seed_client_session(srv.host, srv.port, ctx, "localhost")
                  for _ in range(50)),
                return_exceptions=True)

        results = run_async(body(), 300)
        failures = [(i, r) for i, r in enumerate(results) if r is not None]
        self.assertEqual(failures, [], f"{len(failures)}/50 concurrent sessions failed, "
                         f"first: {failures[:3]!r}")
        srv.check_alive()

    def test_back_to_back_starttls_and_clienthello_20(self):
        srv = self.serve()
        ctx = sp.client_context(srv.ca)

        async def body():
            for i in range(20):
                try:
                    await sp.back_to_back_session(srv.host, srv.port, ctx, "localhost")
                except Exception as exc:
                    raise AssertionError(
                        f"back-to-back session {i + 1}/20 failed: {exc!r}") from exc

        run_async(body(), 300)
        srv.check_alive()

    def test_hostname_mismatch_rejected_server_keeps_serving(self):
        srv = self.serve()
        ctx = sp.client_context(srv.ca)

        async def body():
            with self.assertRaises(ssl.SSLCertVerificationError):
                await sp.seed_client_session(srv.host, srv.port, ctx, "wrong.example")
            await sp.seed_client_session(srv.host, srv.port, ctx, "localhost")

        run_async(body(), 120)
        srv.check_alive()

    def test_garbage_instead_of_clienthello_closes(self):
        srv = self.serve()
        ctx = sp.client_context(srv.ca)

        async def body():
            loop = asyncio.get_running_loop()
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(srv.host, srv.port), STEP_TIMEOUT)
            received = bytearray()
            closed = False
            try:
                writer.write(b"PING\n")
                line = await asyncio.wait_for(reader.readline(), STEP_TIMEOUT)
                self.assertEqual(line.rstrip(b"\r\n"), b"PONG", "plaintext PING before STARTTLS")
                writer.write(b"STARTTLS\n")
                await writer.drain()
                writer.write(b"GET / HTTP/1.0\r\n\r\n")
                await writer.drain()
                # If the server fell back to plaintext it would answer this.
                try:
                    writer.write(b"PING\n")
                    await writer.drain()
                except OSError:
                    pass
                deadline = loop.time() + STEP_TIMEOUT
                while True:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        data = await asyncio.wait_for(reader.read(65536), remaining)
                    except TimeoutError:
                        break
                    except ConnectionResetError:
                        closed = True
                        break
                    if not data:
                        closed = True
                        break
                    received += data
            finally:
                writer.close()
                try:
                    await asyncio.wait_for(writer.wait_closed(), 5)
                except Exception:  # noqa: BLE001 - reset on close is fine here
                    pass
            self.assertTrue(closed, f"server did not close the connection within "
                            f"{STEP_TIMEOUT:g}s after a non-TLS reply to STARTTLS; "
                            f"received {bytes(received)!r}")
            self.assertNotIn(b"PONG", bytes(received))
            await sp.seed_client_session(srv.host, srv.port, ctx, "localhost")

        run_async(body(), 120)
        srv.check_alive()

    # -- `uptls client pingpong` vs the Python seed server ---------------

    def test_uptls_client_against_python_seed_server(self):
        self.require_openssl()
        pki = sp.make_openssl_pki(self.tmp.name)
        sctx = sp.server_context(pki["cert"], pki["key"])

        async def body():
            errors = []
            server = await sp.seed_server(HOST, 0, sctx, errors=errors)
            try:
                port = sp.server_port(server)
                rc, out, err, cmd = await run_uptls_client(port, pki["ca_cert"], "localhost")
                self.assertEqual(rc, 0, f"{cmd} exited {rc}\nstdout:\n{out}\nstderr:\n{err}")
                self.assertEqual(errors, [], f"Python seed server errors: {errors!r}")
                rc, out, err, cmd = await run_uptls_client(port, pki["ca_cert"], "wrong.example")
                self.assertNotEqual(rc, 0, f"{cmd} exited 0 although the certificate is "
                                    f"not for wrong.example\nstdout:\n{out}\nstderr:\n{err}")
            finally:
                server.close()
                await server.wait_closed()

        run_async(body(), 120)

    # -- openssl s_client vs `uptls serve pingpong --implicit-tls` -------

    def test_openssl_s_client_implicit_tls(self):
        self.require_openssl()
        srv = self.serve("--implicit-tls")
        # -quiet implies -ign_eof and -nocommands: stdout carries only server
        # data, the "QUIT" line is sent rather than read as the Q command, and
        # s_client exits when the server closes the connection.
        cmd = ["openssl", "s_client", "-connect", f"{HOST}:{srv.port}",
               "-CAfile", srv.ca, "-verify_return_error",
               "-verify_hostname", "localhost", "-quiet"]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        _live_processes.add(proc)
        out = _PipeReader(proc.stdout)
        err = _PipeReader(proc.stderr)
        self.addCleanup(stop_process, proc, 5, (out, err))

        def describe():
            return (f"command: {' '.join(cmd)}\nexit status: {proc.returncode}\n"
                    f"stdout:\n{out.text()}stderr:\n{err.text()}")

        got_pong = False
        try:
            proc.stdin.write(b"PING\n")
            proc.stdin.flush()
            deadline = time.monotonic() + STEP_TIMEOUT
            while not got_pong:
                try:
                    line = out.next_line(deadline - time.monotonic())
                except queue.Empty:
                    break
                if line is None:
                    break
                got_pong = line.rstrip("\r\n") == "PONG"
            if got_pong:
                proc.stdin.write(b"QUIT\n")
                proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass
        if not got_pong:
            stop_process(proc, 5, (out, err))
            self.fail("no PONG from uptls over openssl s_client\n" + describe())
        try:
            rc = proc.wait(STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            stop_process(proc, 5, (out, err))
            self.fail(f"openssl s_client did not exit within {STEP_TIMEOUT:g}s after QUIT "
                      "(server did not close?)\n" + describe())
        self.assertEqual(rc, 0, "openssl s_client failed\n" + describe())
        srv.check_alive()

    # -- IPv6 ------------------------------------------------------------

    @unittest.skipUnless(_ipv6_loopback_available(), "IPv6 loopback ::1 not available")
    def test_ipv6_seed_client(self):
        srv = self.serve(listen_host="::1")
        ctx = sp.client_context(srv.ca)
        run_async(sp.seed_client_session("::1", srv.port, ctx, "localhost"), 120)
        srv.check_alive()


def main():
    global UPTLS
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
        program = unittest.main(argv=[sys.argv[0]] + rest, exit=False)
    finally:
        _reap_all()
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
