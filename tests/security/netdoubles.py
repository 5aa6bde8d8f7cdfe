"""Network doubles for the egress tests: everything here stands in for something outside the process (DNS, an
operator's forward proxy, certificates; the partner's HTTP/HTTPS endpoint is tests.fixtures.receiver.WebhookReceiver).
Nothing of the code under test is replaced."""

from __future__ import annotations

import datetime
import ipaddress
import select
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
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


def self_signed_certificate(name: str, directory: Path) -> tuple[str, str]:
    """(certfile, keyfile), written to `directory`, of a fresh self-signed certificate for `name` (no CA anywhere
    trusts it)."""
    return issue_certificate(name, directory)


def issue_certificate(name: str, directory: Path, *, issuer: tuple[str, str] | None = None, ca: bool = False,
                      stem: str = "cert") -> tuple[str, str]:
    """(certfile, keyfile) of a fresh certificate for `name`, written to `directory` as `<stem>.pem` and
    `<stem>.key`: self-signed, or signed by `issuer` (the (certfile, keyfile) of a certificate made with ca=True).
    The extensions are the ones strict verifiers (OpenSSL's X509_STRICT) insist on, so any client or server may
    trust the CA: e.g. a CA for mutual-TLS client certificates (WebhookReceiver(client_ca=...))."""
    # Imported here: cryptography's x509 is heavy and only the TLS tests need it.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    if issuer:
        issuer_certificate = x509.load_pem_x509_certificate(Path(issuer[0]).read_bytes())
        signing_key = serialization.load_pem_private_key(Path(issuer[1]).read_bytes(), password=None)
        issuer_name, issuer_public_key = issuer_certificate.subject, issuer_certificate.public_key()
    else:
        signing_key, issuer_name, issuer_public_key = key, subject, key.public_key()
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    certificate = builder.sign(signing_key, hashes.SHA256())
    certfile, keyfile = directory / f"{stem}.pem", directory / f"{stem}.key"
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
