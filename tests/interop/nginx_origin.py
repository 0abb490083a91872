"""An HTTPS and HTTP origin served by Debian's nginx on 127.0.0.1, for the
proxy tests and the proxy benchmark.

NginxOrigin(directory, cert, key, bad_cert=..., bad_key=...) writes a
configuration into directory, starts `nginx` in the foreground as a single
process (no master, no daemon, logs to the directory) and stops it by PID.
It serves, over TLS on `tls_port`, over plain HTTP on `plain_port` and, with
a certificate no client trusts, on `bad_port`:

* /FILE          files put in directory/www (static, Content-Length);
* /chunked/FILE  the same files passed through sub_filter, which drops the
                 length, so nginx sends them chunked;
* /upload        reads and discards a body of up to 1 GiB, answers
                 "uploaded".
"""

from __future__ import annotations

import os
import socket
import subprocess
import time


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, timeout=20.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout:g}s")


_SERVER = """
    server {{
        listen 127.0.0.1:{port}{ssl};
        {certificates}
        root {www};
        keepalive_requests 100000;
        location = /upload {{
            client_max_body_size 1g;
            client_body_buffer_size 1m;
            return 200 "uploaded\\n";
        }}
        location /chunked/ {{
            alias {www}/;
            sub_filter_types *;
            sub_filter_once off;
            sub_filter 'uptls-never-found' 'x';
        }}
    }}
"""


class NginxOrigin:
    def __init__(self, directory, cert, key, *, bad_cert=None, bad_key=None):
        self.directory = directory
        self.www = os.path.join(directory, "www")
        os.makedirs(self.www, exist_ok=True)
        self.tls_port = free_port()
        self.plain_port = free_port()
        self.bad_port = free_port() if bad_cert else None
        servers = [
            _SERVER.format(port=self.tls_port, ssl=" ssl", www=self.www,
                           certificates=f"ssl_certificate {cert}; ssl_certificate_key {key};"),
            _SERVER.format(port=self.plain_port, ssl="", www=self.www, certificates=""),
        ]
        if bad_cert:
            servers.append(_SERVER.format(
                port=self.bad_port, ssl=" ssl", www=self.www,
                certificates=f"ssl_certificate {bad_cert}; ssl_certificate_key {bad_key};"))
        temp = {name: os.path.join(directory, name)
                for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        self.conf = os.path.join(directory, "nginx.conf")
        with open(self.conf, "w") as out:
            out.write(f"""
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    default_type application/octet-stream;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
{''.join(servers)}
}}
""")
        self.proc = None

    def put(self, name, data):
        """Serves data as /name (and chunked as /chunked/name)."""
        with open(os.path.join(self.www, name), "wb") as out:
            out.write(data)

    def start(self):
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.directory, "-c", self.conf, "-e", "stderr",
             "-g", "daemon off; master_process off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for port in (self.tls_port, self.plain_port, self.bad_port):
            if port:
                wait_for_port(port, proc=self.proc)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
