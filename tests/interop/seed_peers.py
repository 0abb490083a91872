"""Python peers for the seed 000 PING/PONG/STARTTLS/QUIT protocol.

Standard library only (Python 3.11).  Used by test_pingpong.py to exercise the
`uptls` binary against an independent TLS implementation (CPython's ssl module):

* seed_client_session()  - the seed 000 client (asyncio streams + start_tls).
* back_to_back_session() - like the seed client, but "STARTTLS\\n" and the TLS
                           ClientHello leave in ONE socket write; the
                           handshake is driven by hand with ssl.MemoryBIO.
* seed_server()          - the seed 000 server (asyncio.start_server), returns
                           the asyncio Server so a test can read its port.
* ThreadedSeedServer     - the seed server with implicit TLS on blocking
                           sockets (a thread per connection); it records
                           each session's client certificate and ALPN, and
                           lets a client read the alert of a failed handshake.
* make_openssl_pki()     - ECDSA P-256 CA + leaf (localhost, 127.0.0.1, ::1)
                           made with the openssl command line.

Every step is bounded by a timeout; any deviation from the protocol raises
SeedProtocolError (an AssertionError) with a message naming the step.  TLS
errors (e.g. ssl.SSLCertVerificationError) propagate unchanged.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import ssl
import subprocess
import threading
import time

DEFAULT_TIMEOUT = 20.0
_CLOSE_TIMEOUT = 5.0
_READ_CHUNK = 65536


class SeedProtocolError(AssertionError):
    """The peer deviated from the seed protocol (wrong reply, early EOF, ...)."""


class SeedTimeoutError(SeedProtocolError):
    """A protocol step did not complete within the timeout."""


async def _step(awaitable, timeout, what):
    """Await `awaitable` bounded by `timeout`; a timeout names the step."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise SeedTimeoutError(f"timed out after {timeout:g}s: {what}") from None


def _addr(host, port):
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


async def _expect_line(reader, expected, timeout, what):
    line = await _step(reader.readline(), timeout, f"waiting for {expected!r} ({what})")
    if not line:
        raise SeedProtocolError(f"connection closed while waiting for {expected!r} ({what})")
    if line.rstrip(b"\r\n") != expected:
        raise SeedProtocolError(f"expected {expected!r} ({what}), got {line!r}")


async def _expect_eof(reader, timeout, what):
    """After QUIT the server must close: accept EOF or a reset, nothing else."""
    try:
        data = await _step(reader.read(_READ_CHUNK), timeout,
                           f"waiting for the server to close the connection ({what})")
    except ConnectionResetError:
        return
    if data:
        raise SeedProtocolError(f"expected the connection to close ({what}), got data {data!r}")


async def _close_writer(writer, graceful):
    """Close a StreamWriter without ever hanging.

    After a failed start_tls() asyncio never reports connection_lost to the
    stream protocol, so wait_closed() would wait forever: only wait (bounded)
    on the graceful path.
    """
    try:
        writer.close()
    except Exception:  # noqa: BLE001 - best effort on teardown
        return
    if graceful:
        try:
            await asyncio.wait_for(writer.wait_closed(), _CLOSE_TIMEOUT)
        except Exception:  # noqa: BLE001 - timeouts/resets on close are not failures
            pass


# --------------------------------------------------------------------------
# Client 1: the seed client, asyncio streams + StreamWriter.start_tls()
# --------------------------------------------------------------------------

async def seed_client_session(host, port, ctx, server_hostname, *,
                              timeout=DEFAULT_TIMEOUT, expect_close=True):
    """Run one seed 000 client session against host:port.

    PING/PONG in plaintext (no peer certificate yet), STARTTLS, TLS handshake
    verifying the server for `server_hostname` with `ctx`, a certificate is now
    present, PING/PONG over TLS, QUIT, and (expect_close) the server closes.
    """
    where = _addr(host, port)
    reader, writer = await _step(asyncio.open_connection(host, port), timeout,
                                 f"connecting to {where}")
    graceful = False
    try:
        if writer.get_extra_info("peercert") is not None:
            raise SeedProtocolError("peer certificate present before STARTTLS")

        writer.write(b"PING\n")
        await _step(writer.drain(), timeout, "sending plaintext PING")
        await _expect_line(reader, b"PONG", timeout, "plaintext PING")

        writer.write(b"STARTTLS\n")
        await _step(writer.drain(), timeout, "sending STARTTLS")
        await _step(writer.start_tls(ctx, server_hostname=server_hostname,
                                     ssl_handshake_timeout=timeout),
                    timeout, f"TLS handshake with {where} for {server_hostname!r}")

        if writer.get_extra_info("peercert") is None:
            raise SeedProtocolError("no peer certificate after the TLS handshake")

        writer.write(b"PING\n")
        await _step(writer.drain(), timeout, "sending PING over TLS")
        await _expect_line(reader, b"PONG", timeout, "PING over TLS")

        writer.write(b"QUIT\n")
        await _step(writer.drain(), timeout, "sending QUIT over TLS")
        if expect_close:
            await _expect_eof(reader, timeout, "after QUIT over TLS")
        graceful = True
    finally:
        await _close_writer(writer, graceful)


# --------------------------------------------------------------------------
# Client 2: STARTTLS and the ClientHello in one write, MemoryBIO handshake
# --------------------------------------------------------------------------

class _BioTLS:
    """TLS client over an asyncio stream pair, driven by hand via MemoryBIO."""

    def __init__(self, reader, writer, ctx, server_hostname, timeout):
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.sslobj = ctx.wrap_bio(self.incoming, self.outgoing,
                                   server_side=False, server_hostname=server_hostname)
        self._plain = bytearray()

    def first_flight(self):
        """Start the handshake and return the ClientHello bytes (not sent)."""
        try:
            self.sslobj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        else:
            raise SeedProtocolError("TLS handshake completed without any server bytes")
        hello = self.outgoing.read()
        if not hello:
            raise SeedProtocolError("ssl produced no ClientHello")
        return hello

    async def flush(self, what):
        data = self.outgoing.read()
        if data:
            self.writer.write(data)
            await _step(self.writer.drain(), self.timeout, what)

    async def fill(self, what):
        """Read ciphertext from the socket into the incoming BIO; False on EOF."""
        try:
            data = await _step(self.reader.read(_READ_CHUNK), self.timeout, what)
        except ConnectionResetError:
            data = b""
        if not data:
            self.incoming.write_eof()
            return False
        self.incoming.write(data)
        return True

    async def handshake(self):
        while True:
            try:
                self.sslobj.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self.flush("sending TLS handshake data")
                if not await self.fill("waiting for TLS handshake data from the server"):
                    # Let ssl report the precise error (alert, EOF) if it can.
                    try:
                        self.sslobj.do_handshake()
                    except ssl.SSLWantReadError:
                        pass
                    else:
                        break
                    raise SeedProtocolError(
                        "server closed the connection during the TLS handshake")
        # TLS 1.3: the client Finished is produced by the last do_handshake().
        await self.flush("sending the client Finished")

    async def write(self, data, what):
        self.sslobj.write(data)
        await self.flush(what)

    async def _read_some(self, what):
        """Return decrypted bytes, or b'' at a clean or unclean end of stream."""
        while True:
            try:
                return self.sslobj.read(_READ_CHUNK)
            except ssl.SSLWantReadError:
                await self.flush(what)  # e.g. a KeyUpdate response
                await self.fill(what)
            except ssl.SSLZeroReturnError:
                return b""
            except ssl.SSLEOFError:
                return b""

    async def readline(self, what):
        while b"\n" not in self._plain:
            chunk = await self._read_some(what)
            if not chunk:
                line, self._plain = bytes(self._plain), bytearray()
                return line
            self._plain += chunk
        idx = self._plain.index(b"\n") + 1
        line = bytes(self._plain[:idx])
        del self._plain[:idx]
        return line

    async def expect_line(self, expected, what):
        line = await self.readline(f"waiting for {expected!r} ({what})")
        if not line:
            raise SeedProtocolError(f"connection closed while waiting for {expected!r} ({what})")
        if line.rstrip(b"\r\n") != expected:
            raise SeedProtocolError(f"expected {expected!r} ({what}), got {line!r}")

    async def expect_eof(self, what):
        if self._plain:
            raise SeedProtocolError(f"unexpected data {bytes(self._plain)!r} ({what})")
        data = await self._read_some(f"waiting for the server to close ({what})")
        if data:
            raise SeedProtocolError(f"expected the connection to close ({what}), got {data!r}")

    async def try_unwrap(self):
        """Best effort close_notify; the server may already be gone."""
        try:
            self.sslobj.unwrap()
        except (ssl.SSLError, OSError, ValueError):
            pass
        try:
            await self.flush("sending close_notify")
        except (OSError, SeedProtocolError):
            pass


async def back_to_back_session(host, port, ctx, server_hostname, *,
                               timeout=DEFAULT_TIMEOUT, expect_close=True):
    """Seed client whose STARTTLS line and ClientHello share ONE socket write.

    This makes the server see the ClientHello in the same read as STARTTLS, so
    a server that reads the command line with a buffered reader must hand the
    buffered bytes to its TLS engine.
    """
    where = _addr(host, port)
    reader, writer = await _step(asyncio.open_connection(host, port), timeout,
                                 f"connecting to {where}")
    graceful = False
    try:
        if writer.get_extra_info("peercert") is not None:
            raise SeedProtocolError("peer certificate present before STARTTLS")

        writer.write(b"PING\n")
        await _step(writer.drain(), timeout, "sending plaintext PING")
        await _expect_line(reader, b"PONG", timeout, "plaintext PING")

        tls = _BioTLS(reader, writer, ctx, server_hostname, timeout)
        hello = tls.first_flight()
        writer.write(b"STARTTLS\n" + hello)  # one write -> one send()
        await _step(writer.drain(), timeout, "sending STARTTLS + ClientHello")
        await tls.handshake()

        if not tls.sslobj.getpeercert() or tls.sslobj.getpeercert(binary_form=True) is None:
            raise SeedProtocolError("no peer certificate after the TLS handshake")

        await tls.write(b"PING\n", "sending PING over TLS")
        await tls.expect_line(b"PONG", "PING over TLS")
        await tls.write(b"QUIT\n", "sending QUIT over TLS")
        if expect_close:
            await tls.expect_eof("after QUIT over TLS")
        await tls.try_unwrap()
        graceful = True
    finally:
        await _close_writer(writer, graceful)


# --------------------------------------------------------------------------
# Server: the seed server, asyncio.start_server + StreamWriter.start_tls()
# --------------------------------------------------------------------------

def _feed_protocol(protocol, data):
    """Deliver `data` to an asyncio protocol (buffered or plain)."""
    if isinstance(protocol, asyncio.BufferedProtocol):
        view = memoryview(data)
        while view:
            buf = protocol.get_buffer(len(view))
            n = min(len(buf), len(view))
            if n == 0:
                raise RuntimeError("protocol returned an empty buffer")
            buf[:n] = view[:n]
            protocol.buffer_updated(n)
            view = view[n:]
    else:
        protocol.data_received(bytes(data))


async def _server_start_tls(reader, writer, ctx, timeout):
    """writer.start_tls(ctx), keeping bytes the StreamReader already buffered.

    CPython 3.11's StreamWriter.start_tls() drops bytes that were read
    together with the STARTTLS line (e.g. the ClientHello), and the handshake
    then hangs (python/cpython#142352, fixed only in later versions).  So:

    1. pause reading, so no new bytes are read from the socket until
       loop.start_tls() resumes reading after SSLProtocol.connection_made();
    2. start the upgrade as a task: its first step installs the SSLProtocol
       on the transport (transport.set_protocol) synchronously;
    3. a callback queued right behind that step moves whatever the
       StreamReader holds by then (including bytes from read callbacks that
       were already queued) into the SSLProtocol, which keeps bytes delivered
       before connection_made() in its incoming BIO.

    Byte order is preserved; on Pythons that transfer the buffer themselves
    the reader is empty by then and nothing is fed twice.
    """
    transport = writer.transport
    stream_protocol = transport.get_protocol()
    loop = asyncio.get_running_loop()
    transport.pause_reading()
    upgrade = asyncio.ensure_future(
        writer.start_tls(ctx, ssl_handshake_timeout=timeout))
    tries = [0]

    def inject():
        if upgrade.done():
            return
        protocol = transport.get_protocol()
        if protocol is stream_protocol:  # start_tls() not at set_protocol yet
            tries[0] += 1
            if tries[0] < 1000:
                loop.call_soon(inject)
            return
        leftover = bytes(reader._buffer)  # private, but there is no public way
        reader._buffer.clear()
        if leftover:
            _feed_protocol(protocol, leftover)

    loop.call_soon(inject)  # runs right after the task's first step
    try:
        await _step(upgrade, timeout, "server TLS handshake")
    except BaseException:
        upgrade.cancel()
        raise


async def _serve_one(reader, writer, ctx, implicit_tls, idle_timeout, handshake_timeout):
    tls = implicit_tls
    while True:
        line = await _step(reader.readline(), idle_timeout, "waiting for a command")
        if not line:
            return  # EOF: client went away
        command = line.rstrip(b"\r\n")
        if command == b"QUIT":
            return
        if command == b"PING":
            writer.write(b"PONG\n")
            await _step(writer.drain(), idle_timeout, "sending PONG")
        elif command == b"STARTTLS":
            if tls:
                raise SeedProtocolError("STARTTLS on a connection that is already TLS")
            await _server_start_tls(reader, writer, ctx, handshake_timeout)
            tls = True
        # Anything else is ignored, as in the seed.


async def seed_server(host, port, ctx, *, implicit_tls=False, errors=None,
                      idle_timeout=60.0, handshake_timeout=DEFAULT_TIMEOUT):
    """Start the seed 000 server on host:port (0 = ephemeral) and return it.

    PING -> PONG, STARTTLS -> upgrade as TLS server with `ctx`, QUIT -> close.
    With implicit_tls, TLS starts with the first byte (no STARTTLS).  Per
    connection exceptions are appended to `errors` (a list) if given, and are
    never printed.  Use server.sockets[0].getsockname()[1] for the port and
    `server.close(); await server.wait_closed()` to stop it.
    """

    async def handle(reader, writer):
        graceful = False
        try:
            await _serve_one(reader, writer, ctx, implicit_tls, idle_timeout,
                             handshake_timeout)
            graceful = True
        except Exception as exc:  # noqa: BLE001 - recorded, not printed
            if errors is not None:
                errors.append(exc)
        finally:
            await _close_writer(writer, graceful)

    return await asyncio.start_server(handle, host, port,
                                      ssl=ctx if implicit_tls else None,
                                      ssl_handshake_timeout=handshake_timeout if implicit_tls else None)


def server_port(server):
    """Port of the first listening socket of an asyncio Server."""
    return server.sockets[0].getsockname()[1]


# --------------------------------------------------------------------------
# Server 2: implicit TLS on blocking sockets, a thread per connection
# --------------------------------------------------------------------------

class ThreadedSeedServer:
    """The seed server with TLS from the first byte, on blocking sockets.

    asyncio's TLS server drops the alert of a failed handshake (it aborts the
    transport), so a client sees a reset instead of, e.g., TLS 1.3's
    certificate_required.  Here the alert goes out, then the connection is
    closed gently (FIN, then the client's bytes are drained for up to
    `linger` seconds) so that the client can read it.

    PING -> PONG, QUIT -> close_notify and close, anything else is ignored.
    After each handshake, `sessions` gets a dict with 'peercert'
    (SSLSocket.getpeercert()), 'alpn', 'version' and 'cipher'; exceptions of a
    connection (failed handshakes included) go to `errors`.  Every socket
    operation is bounded by `timeout`.  Use as a context manager, or call
    close(), which stops the threads (bounded).
    """

    def __init__(self, ctx, host="127.0.0.1", *, timeout=DEFAULT_TIMEOUT, linger=2.0):
        self._ctx = ctx
        self._timeout = timeout
        self._linger = linger
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._open = set()  # sockets of live connections, shut down by close()
        self.sessions = []
        self.errors = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, 0), family=family)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stop.set()
        self._acceptor.join(5)
        self._listener.close()
        with self._lock:
            threads = list(self._threads)
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in threads:
            t.join(self._timeout)

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._threads.append(t)
            t.start()

    def _record(self, what, item):
        with self._lock:
            what.append(item)

    def _serve(self, conn):
        conn.settimeout(self._timeout)
        sock = conn
        with self._lock:
            self._open.add(conn)
        try:
            sock = self._ctx.wrap_socket(conn, server_side=True,
                                         do_handshake_on_connect=False)
            with self._lock:
                self._open.discard(conn)
                self._open.add(sock)
            try:
                sock.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                self._record(self.errors, exc)
                self._linger_close(sock)
                return
            self._record(self.sessions, {
                "peercert": sock.getpeercert(), "alpn": sock.selected_alpn_protocol(),
                "version": sock.version(), "cipher": sock.cipher()})
            self._command_loop(sock)
        except Exception as exc:  # noqa: BLE001 - recorded, not printed
            self._record(self.errors, exc)
        finally:
            with self._lock:
                self._open.discard(sock)
            sock.close()

    def _command_loop(self, sock):
        buf = b""
        while True:
            while b"\n" not in buf:
                data = sock.recv(_READ_CHUNK)
                if not data:
                    return  # EOF: the client went away
                buf += data
            line, buf = buf.split(b"\n", 1)
            command = line.rstrip(b"\r")
            if command == b"PING":
                sock.sendall(b"PONG\n")
            elif command == b"QUIT":
                try:
                    sock.unwrap()  # close_notify (bounded by the socket timeout)
                except (ssl.SSLError, OSError, ValueError):
                    pass
                return

    def _linger_close(self, sock):
        """After a failed handshake (alert sent): FIN, drain, so close() sends no RST."""
        try:
            sock.shutdown(socket.SHUT_WR)  # also drops the SSL object: raw reads below
        except OSError:
            return
        deadline = time.monotonic() + self._linger
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                sock.settimeout(remaining)
                if not sock.recv(_READ_CHUNK):
                    return
            except OSError:
                return


# --------------------------------------------------------------------------
# Certificates via the openssl command line
# --------------------------------------------------------------------------

_CA_CONF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = uptls interop test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

_LEAF_CONF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = {cn}
"""

_LEAF_EXT = """\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = {san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


def _openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stdout}{proc.stderr}")


P256 = ("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")


def make_openssl_pki(directory, *, dns_names=("localhost",),
                     ip_addresses=("127.0.0.1", "::1"), days=2, ca_key=P256, leaf_key=P256,
                     leaf_digest="sha256"):
    """Make a CA and a server leaf with the openssl CLI: ECDSA P-256 keys and a
    SHA-256 signature unless ca_key, leaf_key (genpkey arguments) or
    leaf_digest say otherwise (weak chains for the tests that refuse them).

    Returns a dict with the paths 'ca_cert', 'ca_key', 'cert', 'key'.
    """
    paths = {name: os.path.join(directory, fname) for name, fname in (
        ("ca_cert", "ca.pem"), ("ca_key", "ca.key"),
        ("cert", "leaf.pem"), ("key", "leaf.key"))}
    ca_conf = os.path.join(directory, "ca.cnf")
    leaf_conf = os.path.join(directory, "leaf.cnf")
    leaf_ext = os.path.join(directory, "leaf.ext")
    leaf_csr = os.path.join(directory, "leaf.csr")
    san = ",".join([f"DNS:{n}" for n in dns_names] + [f"IP:{a}" for a in ip_addresses])
    with open(ca_conf, "w", encoding="ascii") as f:
        f.write(_CA_CONF)
    with open(leaf_conf, "w", encoding="ascii") as f:
        f.write(_LEAF_CONF.format(cn=dns_names[0] if dns_names else "uptls test server"))
    with open(leaf_ext, "w", encoding="ascii") as f:
        f.write(_LEAF_EXT.format(san=san))

    _openssl("genpkey", *ca_key, "-out", paths["ca_key"], cwd=directory)
    _openssl("req", "-new", "-x509", "-config", ca_conf, "-extensions", "v3_ca",
             "-key", paths["ca_key"], "-sha256", "-days", str(days),
             "-set_serial", "0x" + secrets.token_hex(16), "-out", paths["ca_cert"],
             cwd=directory)
    _openssl("genpkey", *leaf_key, "-out", paths["key"], cwd=directory)
    _openssl("req", "-new", "-config", leaf_conf, "-key", paths["key"],
             "-sha256", "-out", leaf_csr, cwd=directory)
    _openssl("x509", "-req", "-in", leaf_csr, "-CA", paths["ca_cert"],
             "-CAkey", paths["ca_key"], "-set_serial", "0x" + secrets.token_hex(16),
             "-days", str(days), "-" + leaf_digest, "-extfile", leaf_ext,
             "-out", paths["cert"], cwd=directory)
    return paths


def client_context(cafile):
    """Verifying client context (CERT_REQUIRED, check_hostname) for `cafile`."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)


def server_context(certfile, keyfile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    return ctx
