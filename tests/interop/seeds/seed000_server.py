#!/usr/bin/python3
"""Seed 000's server (../shared/seeds/000), as published.

handle_client is the seed's code unchanged, and so is the SSL context. Only
what the published listing leaves unusable is filled in: the certificate
paths, the host and port come from the command line (HOST PORT CERT KEY
[CAFILE]) instead of ~/.keys and the FQDN, the start_server call passes the
handler (the listing passes socket.getfqdn() in its place), and one line
"listening on HOST:PORT" tells a test when to connect. No workaround for
CPython's start_tls bug (python/cpython#142352) is applied: this is the
server users run.
"""

import asyncio
from asyncio import StreamReader, StreamWriter
from functools import partial
import ssl
import sys


async def handle_client(
        ctx: ssl.SSLContext,
        reader: StreamReader,
        writer: StreamWriter
) -> None:
    print("Client connected")

    while True:
        request = (await reader.readline()).decode('utf8').rstrip()
        print(f"Read '{request}'")

        if request == 'QUIT':
            break

        elif request == 'PING':
            print("Sending pong")
            writer.write(b'PONG\n')
            await writer.drain()

        elif request == 'STARTTLS':
            print("Upgrading connection to TLS")
            await writer.start_tls(ctx)

    print("Closing client")
    writer.close()
    await writer.wait_closed()
    print("Client closed")


async def run_server(host, port, certfile, keyfile, cafile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_verify_locations(cafile=cafile)
    ctx.load_cert_chain(certfile, keyfile)

    handler = partial(handle_client, ctx)

    print("Starting server")
    server = await asyncio.start_server(handler, host, port)
    print(f"listening on {host}:{server.sockets[0].getsockname()[1]}", flush=True)

    async with server:
        await server.serve_forever()

if __name__ == '__main__':
    host, port, certfile, keyfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    cafile = sys.argv[5] if len(sys.argv) > 5 else "/etc/ssl/certs/ca-certificates.crt"
    asyncio.run(run_server(host, port, certfile, keyfile, cafile))
