"""Network doubles for the egress tests: everything here stands in for something outside the process (DNS, a
partner's HTTP/HTTPS endpoint, an operator's forward proxy). Nothing of the code under test is replaced."""

from __future__ import annotations

import datetime
import ipaddress
import select
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import StreamRequestHandler, ThreadingTCPServer
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver


class FakeDns(AbstractResolver):
    """Answers from `answers[name]`: a list of address lists, one per lookup; the last one repeats. Every lookup is
    counted in `lookups`, so a test can prove how many times a name was resolved."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def set(self, name: str, *answers: Iterable[str]) -> None:
        self.answers[name] = [list(a) for a in answers]

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> list[dict]:
        self.lookups.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise OSError(f"NXDOMAIN {host}")
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        pass


def free_port_on(*hosts: str) -> int:
    """A TCP port free on every given loopback address (so two servers can share it on different IPs)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = probe.getsockname()[1]
        try:
            for host in hosts[1:]:
                with socket.socket() as other:
                    other.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no common free port")


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingServer:
    """An HTTP (or, with a certificate, HTTPS) server on host:port that answers 204 and records every request and,
    for TLS, the SNI name each client sent."""

    host: str
    port: int
    certfile: str | None = None
    keyfile: str | None = None
    client_ca: str | None = None  # require a client certificate signed by this CA (mTLS)
    hits: list[Hit] = field(default_factory=list)
    peer_subjects: list[str] = field(default_factory=list)
    sni_names: list[str | None] = field(default_factory=list)
    tls_errors: list[str] = field(default_factory=list)

    def start(self) -> RecordingServer:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if recorder.client_ca:
                    subject = dict(item[0] for item in self.connection.getpeercert()["subject"])
                    recorder.peer_subjects.append(subject.get("commonName", ""))
                recorder.hits.append(Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # failed handshakes are expected in the TLS tests

        self._server = Server((self.host, self.port), Handler)
        if self.certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certfile, self.keyfile)
            if self.client_ca:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(self.client_ca)

            def remember_sni(ssl_socket, server_name, ctx):
                recorder.sni_names.append(server_name)

            context.sni_callback = remember_sni
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)
            # Handshake in the handler thread, so that a failing client does not stop the accept loop.
            original_finish = self._server.finish_request

            def finish_request(request, client_address):
                try:
                    request.do_handshake()
                except (ssl.SSLError, OSError) as exc:
                    recorder.tls_errors.append(str(exc))
                    return
                original_finish(request, client_address)

            self._server.finish_request = finish_request
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def url(self, host: str | None = None, path: str = "/hook") -> str:
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def self_signed_certificate(name: str, directory: Path) -> tuple[str, str]:
    """(certfile, keyfile), written to `directory`, of a fresh self-signed certificate for `name` (no CA anywhere
    trusts it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )
    return str(certfile), str(keyfile)


@dataclass
class ForwardProxy:
    """A minimal HTTP forward proxy (absolute-form requests and CONNECT tunnels), like an egress proxy such as
    Smokescreen or Squid would be. It records the request line it received for each connection."""

    host: str = "127.0.0.1"
    request_lines: list[str] = field(default_factory=list)

    def start(self) -> ForwardProxy:
        proxy = self

        class Handler(StreamRequestHandler):
            def handle(self):
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.connection.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                header_block, rest = head.split(b"\r\n\r\n", 1)
                first, *header_lines = header_block.decode("latin-1").split("\r\n")
                proxy.request_lines.append(first)
                method, target, version = first.split(" ")
                if method == "CONNECT":
                    host, port = target.rsplit(":", 1)
                    upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
                    self.connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    if rest:
                        upstream.sendall(rest)
                else:
                    url = urlsplit(target)
                    upstream = socket.create_connection((url.hostname, url.port or 80), timeout=5)
                    origin_form = (url.path or "/") + (f"?{url.query}" if url.query else "")
                    kept = [h for h in header_lines if not h.lower().startswith("proxy-")]
                    upstream.sendall(
                        f"{method} {origin_form} {version}\r\n".encode("latin-1")
                        + "\r\n".join(kept).encode("latin-1") + b"\r\n\r\n" + rest
                    )
                _pipe(self.connection, upstream)

        class Server(ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((self.host, 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 10)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (b if source is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


class LocalCA:
    """A certificate authority of the test's own: server certificates for 127.0.0.1 (its `ca_file` is what the
    sender is told to trust) and client certificates for mTLS, all signed by it."""

    def __init__(self, directory: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test local CA")])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = str(directory / "ca.pem")
        Path(self.ca_file).write_bytes(self._pem(self.certificate))

    @staticmethod
    def _pem(certificate) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return certificate.public_bytes(serialization.Encoding.PEM)

    def _issue(self, common_name: str, san, usage, days: int) -> tuple[str, str]:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=2))
            .not_valid_after(now + datetime.timedelta(days=days) if days > 0 else now - datetime.timedelta(hours=1))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san is not None:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return self._pem(certificate).decode(), key_pem.decode()

    def issue_client(self, common_name: str, days: int = 1) -> tuple[str, str]:
        """(certificate PEM, private key PEM) of a client certificate."""
        from cryptography.x509.oid import ExtendedKeyUsageOID

        return self._issue(common_name, None, ExtendedKeyUsageOID.CLIENT_AUTH, days)

    def issue_server(self, address: str = "127.0.0.1") -> tuple[str, str]:
        """(certfile, keyfile) paths of a server certificate for an IP address."""
        from cryptography import x509
        from cryptography.x509.oid import ExtendedKeyUsageOID

        cert, key = self._issue(address, [x509.IPAddress(ipaddress.ip_address(address))],
                                ExtendedKeyUsageOID.SERVER_AUTH, 1)
        certfile, keyfile = self.directory / "server.pem", self.directory / "server-key.pem"
        certfile.write_text(cert)
        keyfile.write_text(key)
        return str(certfile), str(keyfile)
