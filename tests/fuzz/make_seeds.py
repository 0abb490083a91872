#!/usr/bin/python3
"""Writes the seed inputs of the fuzz targets (tests/fuzz/seeds/).

Run once when the input layouts of fuzz_lines.cpp or fuzz_upgrade.cpp
change; the seeds are committed. Real TLS flights come from CPython's ssl
over memory BIOs, with a throwaway certificate made by the openssl command.
"""

import os
import ssl
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    path = os.path.join(HERE, "seeds", target, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def flights():
    """A ClientHello, and the server's first flight answering it."""
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-days", "1"], check=True, capture_output=True)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.check_hostname = False
        client_ctx.verify_mode = ssl.CERT_NONE
        hellos = {}
        for name, version in (("tls13", ssl.TLSVersion.TLSv1_3), ("tls12", ssl.TLSVersion.TLSv1_2)):
            client_ctx.maximum_version = version
            c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO()
            client = client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost")
            try:
                client.do_handshake()
            except ssl.SSLWantReadError:
                pass
            hello = c_out.read()
            s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
            server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
            s_in.write(hello)
            try:
                server.do_handshake()
            except ssl.SSLWantReadError:
                pass
            hellos[name] = (hello, s_out.read())
        return hellos


def main():
    write("lines", "crlf", b"\x08\x01\nPING\r\nSTARTTLS\n")
    write("lines", "unlimited", b"\xff\x02\r\nabc\r\ndef")
    write("lines", "too-long", b"\x04\x03END" + b"x" * 40 + b"END")
    write("lines", "empty-lines", b"\x00\x01\n\n\r\n\n")
    for name, (hello, server_flight) in flights().items():
        write("upgrade", f"server-{name}", b"\x00\x00PING\nSTARTTLS\n" + hello)
        write("upgrade", f"server-{name}-pieces", b"\x00\x07PING\nSTARTTLS\n" + hello)
        write("upgrade", f"client-{name}", b"\x01\x00PONG\n" + server_flight)
        write("upgrade", f"client-{name}-injected", b"\x01\x00PONG\nPONG\n" + server_flight)
    write("upgrade", "server-plaintext", b"\x00\x00PING\nHELLO\nQUIT\n")
    write("upgrade", "server-garbage-after-starttls", b"\x00\x03STARTTLS\nGET / HTTP/1.0\r\n\r\n")
    write("upgrade", "faults-none", b"\x02\x00\x00\x00\x00\x00")
    write("upgrade", "faults-fail", b"\x02\x09\x00\x00\x00\x00")
    write("upgrade", "faults-half-close", b"\x02\x00\x0c\x00\x00\x00")
    write("upgrade", "faults-short", b"\x02\x00\x00\x03\x05\x20")


if __name__ == "__main__":
    main()
