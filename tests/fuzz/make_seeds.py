#!/usr/bin/python3
"""Writes the seed inputs of the fuzz targets (tests/fuzz/seeds/).

Run once when the input layouts of fuzz_lines.cpp, fuzz_upgrade.cpp,
fuzz_http.cpp or fuzz_starttls.cpp change, or a STARTTLS protocol is added;
the seeds are committed. Real TLS flights come from CPython's ssl over memory BIOs, with a throwaway certificate made by the
openssl command.
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


# fuzz_http: max_line, max_head, max_fields (254: the default, 255: no
# limit), the chunked scanner's piece sizes, then the bytes.
HTTP_DEFAULTS = b"\xfe\xfe\xfe\x07"

CURL_GET = (b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n"
            b"User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n")
CONNECT = (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
           b"User-Agent: curl/8.5.0\r\nProxy-Connection: Keep-Alive\r\n\r\n")
CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nExpires: never\r\n\r\n"
           b"HTTP/1.1 204 No Content\r\n\r\n")
LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"


def http_seeds():
    """The seeds of fuzz_http alone (no TLS flights to make)."""
    write("http", "curl-get", HTTP_DEFAULTS + CURL_GET)
    write("http", "connect", HTTP_DEFAULTS + CONNECT + b"\x16\x03\x01\x02\x00\x01")
    write("http", "chunked-response", HTTP_DEFAULTS + CHUNKED)
    write("http", "chunked-response-bytewise", b"\xfe\xfe\xfe\x00" + CHUNKED)
    write("http", "length-response", HTTP_DEFAULTS + LENGTH)
    write("http", "smuggling", HTTP_DEFAULTS + b"POST / HTTP/1.1\r\nHost: a\r\n"
          b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    write("http", "small-limits", b"\x10\x08\x02\x03" + CURL_GET)
    write("http", "no-limits", b"\xff\xff\xff\x05" + CONNECT)


# What each STARTTLS dialogue hears: from the server (client side) and from
# the client (server side), a whole session each.
STARTTLS = {
    "smtp": (b"220 mx ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n220 go\r\n"
             b"250-mx\r\n250 SIZE 100\r\n",
             b"EHLO c\r\nSTARTTLS\r\nEHLO c\r\nMAIL FROM:<a@b> SIZE=5\r\nRCPT TO:<c@d>\r\n"
             b"DATA\r\nhello\r\n..\r\n.\r\nQUIT\r\n"),
    "lmtp": (b"220 lmtp\r\n250-lmtp\r\n250 STARTTLS\r\n220 go\r\n250 lmtp\r\n",
             b"LHLO c\r\nSTARTTLS\r\nLHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"
             b"RCPT TO:<e@f>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n"),
    "imap": (b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\n"
             b"A001 OK done\r\nA002 OK go\r\n* CAPABILITY IMAP4rev1\r\n"
             b"* 1 FETCH (BODY[] {5}\r\nA003 )\r\nA003 OK done\r\n",
             b"a CAPABILITY\r\nb STARTTLS\r\nc LOGIN {5}\r\nalice \"secret\"\r\n"
             b"d SELECT INBOX\r\ne UID FETCH 1:* (UID FLAGS BODY.PEEK[])\r\n"
             b"f AUTHENTICATE PLAIN\r\nAGJvYgBzZWNyZXQ=\r\ng SEARCH ALL\r\nh LOGOUT\r\n"),
    "pop3": (b"+OK hi\r\n+OK\r\nTOP\r\nSTLS\r\n.\r\n+OK go\r\n+OK\r\nUSER\r\n..odd\r\n.\r\n",
             b"CAPA\r\nSTLS\r\nCAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL 1\r\n"
             b"RETR 1\r\nTOP 1 0\r\nDELE 1\r\nRSET\r\nQUIT\r\n"),
    "sieve": (b'"IMPLEMENTATION" "x"\r\n"SIEVE" {8}\r\nfileinto\r\n"STARTTLS"\r\nOK "hi"\r\n'
              b'OK "go"\r\n"SASL" "PLAIN"\r\nOK\r\n',
              b'CAPABILITY\r\nSTARTTLS\r\nAUTHENTICATE "PLAIN" {16+}\r\nAGJvYgBzZWNyZXQ=\r\n'
              b'LISTSCRIPTS\r\nGETSCRIPT "uptls"\r\nPUTSCRIPT "a" {6+}\r\nkeep;\n\r\n'
              b'HAVESPACE "a" 10\r\nLOGOUT\r\n'),
    "nntp": (b"200 news\r\n101 list\r\nREADER\r\nSTARTTLS\r\n.\r\n382 go\r\n101 list\r\n"
             b"..dot\r\n.\r\n",
             b"CAPABILITIES\r\nSTARTTLS\r\nAUTHINFO USER a\r\nAUTHINFO PASS b\r\n"
             b"GROUP uptls.test\r\nARTICLE 1\r\nHEAD\r\nOVER 1-1\r\nPOST\r\nhi\r\n..\r\n"
             b".\r\nQUIT\r\n"),
    "ldap": (b"\x30\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00\x04\x00\x8a\x16"
             b"1.3.6.1.4.1.1466.20037"
             b"\x30\x33\x02\x01\x02\x64\x2e\x04\x00\x30\x2a\x30\x17\x04\x14"
             b"supportedLDAPVersion\x31\x03\x04\x013\x30\x0f\x04\x0avendorName\x31\x01\x04"
             b"\x30\x0c\x02\x01\x02\x65\x07\x0a\x01\x00\x04\x00\x04\x00",
             b"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"
             b"\x30\x1d\x02\x01\x02\x77\x18\x80\x16" b"1.3.6.1.4.1.1466.20037"
             b"\x30\x25\x02\x01\x03\x63\x20\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00"
             b"\x02\x01\x00\x01\x01\x00\x87\x0bobjectClass\x30\x00"
             b"\x30\x05\x02\x01\x04\x42\x00"),
    "postgres": (b"S",
                 b"\x00\x00\x00\x08\x04\xd2\x16\x2f"
                 b"\x00\x00\x00\x14\x00\x03\x00\x00user\x00alice\x00\x00"
                 b"Q\x00\x00\x00\x0dSELECT 1\x00Q\x00\x00\x00\x0bSELECT\x00P\x00\x00\x00\x04"
                 b"X\x00\x00\x00\x04"),
    "xmpp": (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
             b"xmlns:stream='http://etherx.jabber.org/streams' id='1' from='x' version='1.0'>"
             b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
             b"</starttls></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
             b"<stream:stream id='2'><stream:features><mechanisms><mechanism>PLAIN</mechanism>"
             b"</mechanisms></stream:features>",
             b"<?xml version='1.0'?><stream:stream to='x' xmlns='jabber:client' "
             b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
             b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><stream:stream to='x'>"
             b"<auth mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth><stream:stream to='x'>"
             b"<iq type='set' id='b'><bind><resource>r</resource></bind></iq>"
             b"<message to='a'><body>hi</body></message></stream:stream>"),
}
STARTTLS["irc"] = (b":irc NOTICE * :hi\r\n:irc 670 * :go\r\n:irc CAP * LS * :a b\r\n"
                   b":irc CAP * LS :c\r\n",
                   b"CAP LS 302\r\nSTARTTLS\r\nCAP LS\r\nCAP END\r\nNICK a\r\nUSER a 0 * :A\r\n"
                   b"JOIN #x\r\nPRIVMSG #x :hi\r\nPING :p\r\nQUIT\r\n")
STARTTLS["http_upgrade"] = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: TLS/1.0, HTTP/1.1\r\nConnection: Upgrade\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\nUpgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n"
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.0\r\n\r\n")
STARTTLS["mysql"] = (
    b"\x2c\x00\x00\x00\x0a10.11.6-MariaDB\x00\x01\x00\x00\x00abcdefgh\x00\x00\x0a\x2d\x02\x00"
    b"\x00\x00\x15" + b"\x00" * 10 + b"ijklmnopqrs\x00",
    b"\x20\x00\x00\x01\x00\x8a\x0a\x00" + b"\x00" * 4 + b"\x2d" + b"\x00" * 23 +
    b"\x26\x00\x00\x02\x00\x8a\x0a\x00" + b"\x00" * 4 + b"\x2d" + b"\x00" * 23 + b"alice\x00\x00" +
    b"\x09\x00\x00\x00\x03SELECT 1\x01\x00\x00\x00\x0e\x01\x00\x00\x00\x01")
STARTTLS["ftp"] = (b"120 wait\r\n220-hi\r\ntext\r\n220 ready\r\n234 go\r\n200 PBSZ=0\r\n200 P\r\n"
                   b"211-Features:\r\n MDTM\r\n211 End\r\n",
                   b"FEAT\r\nAUTH TLS\r\nPBSZ 0\r\nPROT P\r\nUSER a\r\nPASS b\r\nPWD\r\n"
                   b"SIZE hello.txt\r\nCCC\r\nPWD\r\nQUIT\r\n")
STARTTLS["xmpp_server"] = (STARTTLS["xmpp"][0].replace(b"jabber:client", b"jabber:server"),
                           STARTTLS["xmpp"][1].replace(b"jabber:client", b"jabber:server"))


def starttls_seeds():
    # First byte: bit 0 the side (1: server), the rest the delivery size - 1.
    for protocol, (from_server, from_client) in STARTTLS.items():
        target = "starttls_" + protocol
        write(target, "client-whole", b"\xfe" + from_server)
        write(target, "client-bytewise", b"\x00" + from_server)
        write(target, "server-whole", b"\xff" + from_client)
        write(target, "server-bytewise", b"\x01" + from_client)
        for command in (b"STARTTLS\r\n", b"AUTH TLS\r\n"):
            if command not in from_client:
                continue
            write(target, "server-pipelined",
                  b"\xff" + from_client.replace(command, command + b"x NOOP\r\n"))


def proxy_protocol_seeds():
    """PROXY headers (HAProxy's proxy-protocol.txt), each before a ClientHello."""
    v2 = b"\r\n\r\n\x00\r\nQUIT\n"
    write("proxy_protocol", "v1-tcp4", b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n\x16\x03\x01")
    write("proxy_protocol", "v1-tcp6", b"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\nEHLO x\r\n")
    write("proxy_protocol", "v1-unknown", b"PROXY UNKNOWN\r\n")
    write("proxy_protocol", "v2-inet-tlv", v2 + b"\x21\x11\x00\x1a" + bytes([203, 0, 113, 7, 192, 0, 2, 1])
          + b"\xdc\x04\x01\xbb" + b"\x02\x00\x0bexample.org" + b"\x16\x03\x01")
    write("proxy_protocol", "v2-inet6", v2 + b"\x21\x21\x00\x24" + b"\x20\x01\x0d\xb8" + b"\x00" * 11
          + b"\x01" + b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x02" + b"\x00\x01\x00\x02")
    write("proxy_protocol", "v2-local", v2 + b"\x20\x00\x00\x00PING\n")
    write("proxy_protocol", "v2-crc", v2 + b"\x21\x11\x00\x13" + bytes(12) + b"\x03\x00\x04\x00\x00\x00\x00")


def main():
    proxy_protocol_seeds()
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
    http_seeds()
    starttls_seeds()


if __name__ == "__main__":
    main()
