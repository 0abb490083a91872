"""Real servers from Debian packages for the STARTTLS interop tests, each
started on 127.0.0.1 with a throwaway configuration in a temporary
directory and a certificate from `uptls cert`, and stopped by its PID.

Postfix (SMTP), Dovecot (IMAP, POP3, ManageSieve, LMTP), INN (NNTP), slapd
(LDAP), PostgreSQL, MariaDB, Prosody (XMPP),
InspIRCd (IRC), vsftpd (FTP) and aiosmtpd.
The daemons run as root here (as scripts/test does) and drop to their own
users; Postfix needs root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time

from uptls_process import HOST, PipeReader, start_process, stop_process

START_TIMEOUT = 30.0


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=START_TIMEOUT):
    """Waits until 127.0.0.1:port accepts; False if proc exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection((HOST, port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def is_root():
    return os.geteuid() == 0


class Daemon:
    """A daemon child in the foreground: its state directory, its output, a stop by PID."""

    name = "daemon"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix=f"uptls-{self.name}-")
        os.chmod(self.dir, 0o755)
        self.proc = None

    def launch(self, cmd, ports):
        # In the daemon's own directory: a daemon that dumps core on its
        # way out (InspIRCd does at times) leaves nothing in the work tree.
        self.proc = start_process(cmd, cwd=self.dir)
        self.out = PipeReader(self.proc.stdout)
        self.err = PipeReader(self.proc.stderr)
        for port in ports:
            if not wait_port(port, self.proc):
                log = self.log()
                self.stop()
                raise AssertionError(f"{self.name} did not listen on {port}:\n{log}")

    def log(self):
        return self.out.snapshot() + self.err.snapshot()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc, readers=(self.out, self.err))
        shutil.rmtree(self.dir, ignore_errors=True)


class Postfix(Daemon):
    """Postfix's smtpd with STARTTLS offered (smtpd_tls_security_level = may),
    mail discarded."""

    name = "postfix"

    def __init__(self, cert, key):
        super().__init__()
        self.port = free_port()
        etc = os.path.join(self.dir, "etc")
        data = os.path.join(self.dir, "data")
        for d in (etc, os.path.join(self.dir, "spool"), data):
            os.makedirs(d)
        shutil.chown(data, "postfix", "postfix")
        if os.path.exists("/etc/postfix/dynamicmaps.cf"):
            shutil.copy("/etc/postfix/dynamicmaps.cf", etc)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(textwrap.dedent(f"""\
                compatibility_level = 3.6
                config_directory = {etc}
                queue_directory = {self.dir}/spool
                data_directory = {data}
                command_directory = /usr/sbin
                daemon_directory = /usr/lib/postfix/sbin
                meta_directory = /etc/postfix
                shlib_directory = /usr/lib/postfix
                mail_owner = postfix
                setgid_group = postdrop
                myhostname = localhost
                mydomain = localdomain
                myorigin = localhost
                mydestination = localhost
                inet_interfaces = loopback-only
                inet_protocols = ipv4
                mynetworks = 127.0.0.0/8
                local_recipient_maps =
                local_transport = discard
                default_transport = discard
                relay_transport = discard
                alias_maps =
                alias_database =
                maillog_file = /dev/stdout
                smtpd_banner = $myhostname ESMTP Postfix (uptls interop)
                smtpd_tls_security_level = may
                smtpd_tls_chain_files = {key}, {cert}
                smtpd_relay_restrictions = permit_mynetworks, reject
                """))
        services = [
            f"{HOST}:{self.port} inet n - n - - smtpd",
            "pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr", "tlsmgr unix - - n 1000? 1 tlsmgr",
            "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce", "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify", "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap", "error unix - - n - - error",
            "retry unix - - n - - error", "discard unix - - n - - discard",
            "anvil unix - - n - 1 anvil", "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd"]
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write("\n".join(services) + "\n")
        # Postfix waits until its configuration is 2 s old before it starts.
        old = time.time() - 60
        for name in os.listdir(etc):
            os.utime(os.path.join(etc, name), (old, old))
        self.etc = etc
        self.launch(["/usr/sbin/postfix", "-c", etc, "start-fg"], [self.port])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            subprocess.run(["/usr/sbin/postfix", "-c", self.etc, "stop"], capture_output=True,
                           timeout=30)
        super().stop()


class Dovecot(Daemon):
    """Dovecot with IMAP, POP3, ManageSieve and LMTP on loopback ports,
    any user with the password 'secret', mail in maildirs under its directory."""

    name = "dovecot"

    def __init__(self, cert, key):
        super().__init__()
        self.ports = {name: free_port() for name in ("imap", "pop3", "sieve", "lmtp")}
        home = os.path.join(self.dir, "home")
        os.makedirs(home)
        shutil.chown(home, "dovecot", "dovecot")
        self.home = home
        p = self.ports
        conf = os.path.join(self.dir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                base_dir = {self.dir}/run
                state_dir = {self.dir}/state
                instance_name = uptls-{os.path.basename(self.dir)}
                log_path = /dev/stderr
                protocols = imap pop3 sieve lmtp
                listen = {HOST}
                default_login_user = dovenull
                default_internal_user = dovecot
                default_internal_group = dovecot
                ssl = yes
                ssl_cert = <{cert}
                ssl_key = <{key}
                ssl_min_protocol = TLSv1.2
                auth_mechanisms = plain login
                disable_plaintext_auth = yes
                passdb {{
                  driver = static
                  args = password=secret
                }}
                userdb {{
                  driver = static
                  args = uid=dovecot gid=dovecot home={home}/%u
                }}
                mail_location = maildir:~/Maildir
                first_valid_uid = 1
                service imap-login {{
                  chroot =
                  inet_listener imap {{
                    port = {p['imap']}
                  }}
                  inet_listener imaps {{
                    port = 0
                  }}
                }}
                service pop3-login {{
                  chroot =
                  inet_listener pop3 {{
                    port = {p['pop3']}
                  }}
                  inet_listener pop3s {{
                    port = 0
                  }}
                }}
                service managesieve-login {{
                  chroot =
                  inet_listener sieve {{
                    port = {p['sieve']}
                  }}
                }}
                service anvil {{
                  chroot =
                }}
                service lmtp {{
                  inet_listener lmtp {{
                    address = {HOST}
                    port = {p['lmtp']}
                  }}
                }}
                """))
        self.launch(["/usr/sbin/dovecot", "-F", "-c", conf], list(p.values()))

    def maildir_messages(self, user):
        """The messages delivered to user's INBOX."""
        found = []
        for sub in ("new", "cur"):
            directory = os.path.join(self.home, user, "Maildir", sub)
            if os.path.isdir(directory):
                for name in sorted(os.listdir(directory)):
                    with open(os.path.join(directory, name), "rb") as f:
                        found.append(f.read())
        return found


class Slapd(Daemon):
    """OpenLDAP's slapd with an mdb database for dc=example,dc=com."""

    name = "slapd"

    def __init__(self, cert, key, ca):
        super().__init__()
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "db"))
        conf = os.path.join(self.dir, "slapd.conf")
        with open(conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                include /etc/ldap/schema/core.schema
                include /etc/ldap/schema/cosine.schema
                include /etc/ldap/schema/inetorgperson.schema
                pidfile {self.dir}/slapd.pid
                argsfile {self.dir}/slapd.args
                modulepath /usr/lib/ldap
                moduleload back_mdb
                TLSCertificateFile {cert}
                TLSCertificateKeyFile {key}
                TLSCACertificateFile {ca}
                database mdb
                suffix "dc=example,dc=com"
                rootdn "cn=admin,dc=example,dc=com"
                rootpw secret
                directory {self.dir}/db
                maxsize 10485760
                """))
        self.launch(["/usr/sbin/slapd", "-d", "0", "-h", f"ldap://{HOST}:{self.port}/", "-f",
                     conf], [self.port])


class Postgres(Daemon):
    """PostgreSQL 15 (the postgres user's own cluster in a temporary
    directory) with ssl = on."""

    name = "postgres"

    def __init__(self, cert, key, ca):
        super().__init__()
        self.port = free_port()
        binary = "/usr/lib/postgresql/15/bin"
        d = self.dir
        for path in (cert, key, ca):
            shutil.copy(path, d)
        tls = {name: os.path.join(d, os.path.basename(path))
               for name, path in (("cert", cert), ("key", key), ("ca", ca))}
        os.chmod(tls["key"], 0o600)
        with open(os.path.join(d, "pw"), "w") as f:
            f.write("secret\n")
        subprocess.run(["chown", "-R", "postgres:postgres", d], check=True)
        as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run(as_postgres + [f"{binary}/initdb", "-D", f"{d}/data", "-U", "postgres",
                                      f"--pwfile={d}/pw", "--auth-local=trust",
                                      "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8",
                                      "--locale=C.UTF-8"],
                       check=True, capture_output=True, timeout=120)
        self.launch(as_postgres + [f"{binary}/postgres", "-D", f"{d}/data", "-k", d, "-p",
                                   str(self.port), "-c", f"listen_addresses={HOST}", "-c",
                                   "ssl=on", "-c", f"ssl_cert_file={tls['cert']}", "-c",
                                   f"ssl_key_file={tls['key']}", "-c", f"ssl_ca_file={tls['ca']}",
                                   "-c", "fsync=off", "-c", "logging_collector=off"],
                    [self.port])


class Prosody(Daemon):
    """Prosody with c2s on a loopback port, STARTTLS required, one host
    "localhost" and the user alice."""

    name = "prosody"

    def __init__(self, cert, key):
        super().__init__()
        self.port = free_port()
        d = self.dir
        os.makedirs(os.path.join(d, "data"))
        conf = os.path.join(d, "prosody.cfg.lua")
        with open(conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                run_as_root = true
                pidfile = "{d}/prosody.pid"
                data_path = "{d}/data"
                daemonize = false
                log = {{ {{ levels = {{ min = "info" }}, to = "console" }} }}
                interfaces = {{ "{HOST}" }}
                c2s_ports = {{ {self.port} }}
                c2s_direct_tls_ports = {{ }}
                s2s_ports = {{ }}
                http_ports = {{ }}
                https_ports = {{ }}
                modules_enabled = {{ "roster", "saslauth", "tls", "disco", "ping", "posix" }}
                modules_disabled = {{ "s2s" }}
                authentication = "internal_hashed"
                c2s_require_encryption = true
                allow_registration = false
                ssl = {{ certificate = "{cert}", key = "{key}" }}
                VirtualHost "localhost"
                """))
        subprocess.run(["prosodyctl", "--config", conf, "register", "alice", "localhost",
                        "secret"], check=True, capture_output=True, timeout=60)
        self.launch(["prosody", "-F", "--config", conf], [self.port])


class Inspircd(Daemon):
    """InspIRCd 3 with the starttls module (IRCv3 STARTTLS, numeric 670)."""

    name = "inspircd"

    def __init__(self, cert, key):
        super().__init__()
        self.port = free_port()
        d = self.dir
        conf = os.path.join(d, "inspircd.conf")
        with open(conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                <server name="irc.localhost" description="uptls interop" network="Test">
                <admin name="Admin" nick="admin" email="admin@localhost">
                <bind address="{HOST}" port="{self.port}" type="clients">
                <connect allow="*" timeout="60" pingfreq="120" recvq="8192" localmax="50"
                         globalmax="50" resolvehostnames="no" useident="no">
                <pid file="{d}/inspircd.pid">
                <log method="file" type="* -USERINPUT -USEROUTPUT" level="default"
                     target="{d}/ircd.log">
                <dns server="127.0.0.1" timeout="1">
                <module name="ssl_gnutls">
                <sslprofile name="Clients" provider="gnutls" certfile="{cert}" keyfile="{key}"
                            dhfile="" requestclientcert="no">
                <module name="starttls">
                <starttls provider="Clients">
                <module name="cap">
                """))
        self.launch(["/usr/sbin/inspircd", "--nofork", "--runasroot", "--config", conf],
                    [self.port])


class Mariadb(Daemon):
    """MariaDB 10.11 in a temporary data directory, with TLS, and a user
    `test` (password `secret`) that must use it."""

    name = "mariadb"

    def __init__(self, cert, key, ca):
        super().__init__()
        self.port = free_port()
        d = self.dir
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={d}/data",
                        "--user=root", "--auth-root-authentication-method=normal",
                        "--skip-test-db", "--skip-name-resolve"],
                       check=True, capture_output=True, timeout=120)
        with open(os.path.join(d, "init.sql"), "w") as f:
            f.write("CREATE USER IF NOT EXISTS 'test'@'%' IDENTIFIED BY 'secret' REQUIRE SSL;\n"
                    "GRANT ALL ON *.* TO 'test'@'%';\n")
        self.launch(["mariadbd", "--no-defaults", "--user=root", f"--datadir={d}/data",
                     f"--socket={d}/mysqld.sock", f"--pid-file={d}/mysqld.pid",
                     f"--port={self.port}", f"--bind-address={HOST}", "--skip-name-resolve",
                     f"--init-file={d}/init.sql", "--innodb-buffer-pool-size=16M",
                     "--skip-log-bin", f"--ssl-cert={cert}", f"--ssl-key={key}",
                     f"--ssl-ca={ca}"], [self.port])


class Vsftpd(Daemon):
    """vsftpd with AUTH TLS required for anonymous read-only logins, in its
    shipped defaults otherwise: require_ssl_reuse=YES (a data connection
    must resume the control connection's TLS session), pasv_promiscuous=NO,
    its own ciphers and versions."""

    name = "vsftpd"

    def __init__(self, cert, key):
        super().__init__()
        self.port = free_port()
        d = self.dir
        for sub in ("empty", "pub"):
            os.makedirs(os.path.join(d, sub))
        with open(os.path.join(d, "pub", "hello.txt"), "w") as f:
            f.write("hello from vsftpd\n")
        conf = os.path.join(d, "vsftpd.conf")
        with open(conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                listen=YES
                listen_ipv6=NO
                listen_address={HOST}
                listen_port={self.port}
                background=NO
                anonymous_enable=YES
                no_anon_password=YES
                anon_root={d}/pub
                local_enable=NO
                write_enable=NO
                secure_chroot_dir={d}/empty
                seccomp_sandbox=NO
                xferlog_enable=NO
                vsftpd_log_file=/dev/stderr
                ssl_enable=YES
                allow_anon_ssl=YES
                force_anon_logins_ssl=YES
                force_anon_data_ssl=YES
                rsa_cert_file={cert}
                rsa_private_key_file={key}
                """))
        self.launch(["/usr/sbin/vsftpd", conf], [self.port])


class Inn(Daemon):
    """INN's nnrpd on its own (reading only, no innd), with STARTTLS, one
    group `local.test`."""

    name = "inn"

    def __init__(self, cert, key, ca):
        super().__init__()
        self.port = free_port()
        d = self.dir
        for sub in ("etc", "db", "run", "log", "spool/articles", "spool/overview", "spool/tmp",
                    "spool/incoming/tmp", "spool/outgoing", "spool/archive"):
            os.makedirs(os.path.join(d, sub))
        for name in ("inn-secrets.conf", "storage.conf", "moderators", "distrib.pats",
                     "localgroups"):
            if os.path.exists(f"/etc/news/{name}"):
                shutil.copy(f"/etc/news/{name}", os.path.join(d, "etc"))
        for path in (cert, key, ca):
            shutil.copy(path, d)
        os.chmod(os.path.join(d, os.path.basename(key)), 0o600)
        conf = []
        with open("/etc/news/inn.conf") as f:
            for line in f:
                key_name = line.split(":", 1)[0].strip()
                if key_name in ("pathdb", "pathetc", "pathrun", "pathlog", "pathfilter",
                                "pathhttp", "pathhost", "readerswhenstopped", "domain"):
                    continue
                conf.append(line.replace("/var/spool/news", f"{d}/spool"))
        conf += [f"pathdb: {d}/db\n", f"pathetc: {d}/etc\n", f"pathrun: {d}/run\n",
                 f"pathlog: {d}/log\n", f"pathfilter: {d}/etc\n", f"pathhttp: {d}/spool\n",
                 "pathhost: localhost\n", "domain: localdomain\n",
                 "readerswhenstopped: true\n",
                 f"tlscertfile: {d}/{os.path.basename(cert)}\n",
                 f"tlskeyfile: {d}/{os.path.basename(key)}\n",
                 f"tlscafile: {d}/{os.path.basename(ca)}\n"]
        self.conf = os.path.join(d, "inn.conf")
        with open(self.conf, "w") as f:
            f.writelines(conf)
        with open(os.path.join(d, "etc", "readers.conf"), "w") as f:
            f.write('auth "local" {\n    hosts: "127.0.0.1, localhost, ::1, stdin"\n'
                    '    default: "<local>"\n}\naccess "local" {\n    users: "<local>"\n'
                    '    newsgroups: "*"\n    access: RP\n}\n')
        with open(os.path.join(d, "db", "active"), "w") as f:
            f.write("local.test 0000000000 0000000001 y\n")
        with open(os.path.join(d, "db", "active.times"), "w") as f:
            f.write("local.test 0 uptls\n")
        with open(os.path.join(d, "db", "newsgroups"), "w") as f:
            f.write("local.test\tTest group\n")
        subprocess.run(["chown", "-R", "news:news", d], check=True)
        env = dict(os.environ, INNCONF=self.conf)
        subprocess.run(["/usr/lib/news/bin/tdx-util", "-c", "-n", "local.test"], env=env,
                       check=True, capture_output=True, timeout=30)
        os.environ["INNCONF"] = self.conf
        try:
            self.launch(["/usr/lib/news/bin/nnrpd", "-D", "-f", "-b", HOST, "-p",
                         str(self.port)], [self.port])
        finally:
            del os.environ["INNCONF"]


AIOSMTPD_SCRIPT = r"""
import ssl, sys, time
from aiosmtpd.controller import Controller

class Handler:
    async def handle_DATA(self, server, session, envelope):
        print("message from", envelope.mail_from, "tls", session.ssl is not None, flush=True)
        return "250 Message accepted for delivery"

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(sys.argv[2], sys.argv[3])
controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]),
                        tls_context=context, require_starttls=True)
controller.start()
print("ready", flush=True)
while True:  # until SIGTERM
    time.sleep(3600)
"""


class Aiosmtpd(Daemon):
    """aiosmtpd's Controller with STARTTLS required, unmodified."""

    name = "aiosmtpd"

    def __init__(self, cert, key):
        super().__init__()
        self.port = free_port()
        script = os.path.join(self.dir, "aiosmtpd_server.py")
        with open(script, "w") as f:
            f.write(AIOSMTPD_SCRIPT)
        self.launch(["/usr/bin/python3", script, str(self.port), cert, key], [self.port])
