"""A TLS lab on loopback: a private PKI made with `cryptography`, and one Debian nginx serving several TLS sites.

Each site is one `server` block on its own 127.0.0.1 port, so one nginx process serves every configuration a
test module needs. Used by the TLS integration tests and by bench/readiness/tls_vs_testssl.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.nginx_support import nginx
from tests.support import free_port

__all__ = ["Pki", "Site", "nginx_tls"]

NOW = dt.datetime.now(dt.UTC)
MODERN_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
HSTS_LONG = "max-age=63072000; includeSubDomains; preload"


def _key(kind: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if kind.startswith("rsa"):
        return rsa.generate_private_key(65537, int(kind[3:]))
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                                                      "greenflag test PKI")])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Pki:
    """Root → intermediate → leaves. `root_pem` is what a test passes as --ca-file."""

    directory: Path
    root_key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    root: x509.Certificate = field(init=False)
    inter_key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    intermediate: x509.Certificate = field(init=False)
    intermediate_url: str | None = None  # caIssuers URL written into leaves (AIA)

    def __post_init__(self) -> None:
        self.root = self._ca(_name("greenflag test root"), self.root_key, self.root_key, _name("greenflag test root"))
        self.intermediate = self._ca(_name("greenflag test intermediate"), self.inter_key, self.root_key,
                                     self.root.subject, path_length=0)  # fmt: skip
        self.root_pem.write_bytes(_pem(self.root))

    @property
    def root_pem(self) -> Path:
        return self.directory / "root.pem"

    def _ca(self, subject: x509.Name, key: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey, issuer: x509.Name,
            path_length: int | None = None) -> x509.Certificate:  # fmt: skip
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(days=30))
                   .not_valid_after(NOW + dt.timedelta(days=3650))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if signer is not key:
            builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                                            critical=False)  # fmt: skip
        return builder.sign(signer, hashes.SHA256())

    def leaf(self, label: str, names: Sequence[str] = ("localhost",), *, key: str = "rsa2048",
             digest: str = "sha256", days: tuple[int, int] = (-1, 90), chain: bool = True,
             self_signed: bool = False) -> tuple[Path, Path]:  # fmt: skip
        """Issue a leaf; write `<label>.crt` (leaf, + intermediate when `chain`) and `<label>.key`."""
        private = _key(key)
        sans = [x509.IPAddress(__import__("ipaddress").ip_address(n)) if n[0].isdigit() else x509.DNSName(n)
                for n in names]  # fmt: skip
        signer, issuer = (private, _name(names[0])) if self_signed else (self.inter_key, self.intermediate.subject)
        builder = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(issuer)
                   .public_key(private.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW + dt.timedelta(days=days[0])).not_valid_after(NOW + dt.timedelta(days=days[1]))
                   .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.inter_key.public_key()), critical=False)
            if self.intermediate_url:
                builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                    x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                    x509.UniformResourceIdentifier(self.intermediate_url))]), critical=False)  # fmt: skip
        cert = _sign_sha1(private, sans, days[1], self) if digest == "sha1" else builder.sign(signer, hashes.SHA256())
        crt, keyfile = self.directory / f"{label}.crt", self.directory / f"{label}.key"
        crt.write_bytes(_pem(cert) + (_pem(self.intermediate) if chain and not self_signed else b""))
        keyfile.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))  # fmt: skip
        return crt, keyfile


def _sign_sha1(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, sans: list[x509.GeneralName], days: int,
               pki: Pki) -> x509.Certificate:  # fmt: skip
    """Sign with SHA-1 through the system `openssl` CLI (`cryptography`'s own OpenSSL refuses SHA-1 signatures)."""
    d = pki.directory
    csr = (x509.CertificateSigningRequestBuilder().subject_name(_name(str(sans[0].value)))
           .add_extension(x509.SubjectAlternativeName(sans), critical=False).sign(private, hashes.SHA256()))
    (d / "sha1.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    (d / "inter.pem").write_bytes(_pem(pki.intermediate))
    (d / "inter.key").write_bytes(pki.inter_key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    subprocess.run(["openssl", "x509", "-req", "-in", str(d / "sha1.csr"), "-CA", str(d / "inter.pem"), "-CAkey",
                    str(d / "inter.key"), "-sha1", "-days", str(days), "-copy_extensions", "copyall",
                    "-set_serial", "4242", "-out", str(d / "sha1.pem")], check=True, capture_output=True)
    return x509.load_pem_x509_certificate((d / "sha1.pem").read_bytes())


@dataclass
class Site:
    label: str
    cert: Path
    key: Path
    protocols: str = "TLSv1.2 TLSv1.3"
    ciphers: str = MODERN_CIPHERS
    hsts: str | None = HSTS_LONG
    extra: str = ""
    port: int = 0


def _server_block(site: Site, directory: Path) -> str:
    hsts = f'add_header Strict-Transport-Security "{site.hsts}" always;' if site.hsts else ""
    return f"""
  server {{
    listen 127.0.0.1:{site.port} ssl;
    server_name localhost;
    ssl_certificate {site.cert};
    ssl_certificate_key {site.key};
    ssl_protocols {site.protocols};
    ssl_ciphers "{site.ciphers}";
    ssl_prefer_server_ciphers on;
    {site.extra}
    location / {{ {hsts} default_type text/plain; return 200 "{site.label}\\n"; }}
  }}"""


@contextlib.contextmanager
def nginx_tls(sites: Sequence[Site], *, files: dict[str, bytes] | None = None, files_port: int = 0
              ) -> Iterator[dict[str, int]]:  # fmt: skip
    """One nginx serving every site (and `files` over plain HTTP on `files_port`); yields label → port."""
    with tempfile.TemporaryDirectory(prefix="greenflag-tls-") as tmp:
        directory = Path(tmp)
        for site in sites:
            site.port = site.port or free_port()
        ports = {site.label: site.port for site in sites}
        blocks = "".join(_server_block(site, directory) for site in sites)
        if files:
            (directory / "files").mkdir()
            for name, data in files.items():
                (directory / "files" / name).write_bytes(data)
            ports["files"] = files_port or free_port()
            blocks += f"\n  server {{ listen 127.0.0.1:{ports['files']}; root {directory / 'files'}; }}"
        with nginx(directory, blocks, list(ports.values())):
            yield ports
