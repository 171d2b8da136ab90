"""TLS material and the server's ``SSLContext``.

TLS 1.2+ only, forward-secret AEAD suites only (Mozilla "intermediate"), no compression, no
renegotiation, no session tickets that outlive a key. When ``[tls] cert_file`` is empty a
self-signed certificate (ECDSA P-256, SAN = the configured hostname, ``localhost``, 127.0.0.1
and ::1) is generated on first run into ``data_dir/tls/`` with a 0600 key; its SHA-256
fingerprint is returned so that the CLI can print it for users to pin.

``TlsContext.reload()`` loads the certificate and key again into the *same* context object, so
listeners that hold it serve the new certificate to new connections (SIGHUP, see lifecycle).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mailfort.config.model import Settings

__all__ = ["TlsMaterial", "TlsContext", "ensure_tls_material", "build_ssl_context",
           "certificate_fingerprint"]

_CIPHERS_TLS12: Final = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
))
_SELF_SIGNED_DAYS: Final = 365


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """Where the certificate chain and key live, and the leaf's SHA-256 fingerprint
    (upper-case hex pairs joined by ``:``). ``is_generated`` is True for a self-signed one."""

    cert_file: Path
    key_file: Path
    fingerprint_sha256: str
    is_generated: bool


def certificate_fingerprint(cert_file: Path) -> str:
    """SHA-256 of the first certificate in a PEM file, as ``AB:CD:...``."""
    pem = cert_file.read_text(encoding="ascii")
    der = ssl.PEM_cert_to_DER_cert(pem[: pem.index("-----END CERTIFICATE-----") + 25])
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _generate_self_signed(hostname: str, cert_file: Path, key_file: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(hostname)]
    if hostname != "localhost":
        alt_names.append(x509.DNSName("localhost"))
    alt_names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                  x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(cert_file.parent, 0o700)
    tmp_key = key_file.with_suffix(".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp_key, 0o600)
    tmp_cert = cert_file.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp_key, key_file)
    os.replace(tmp_cert, cert_file)


def ensure_tls_material(settings: Settings) -> TlsMaterial:
    """The configured certificate, or the self-signed one in ``data_dir/tls/`` (generated on
    first call). Blocking file I/O: call it before the event loop serves connections."""
    if settings.tls.cert_file:
        cert = settings.path(settings.tls.cert_file)
        key = settings.path(settings.tls.key_file or settings.tls.cert_file)
        return TlsMaterial(cert, key, certificate_fingerprint(cert), is_generated=False)
    tls_dir = settings.data_dir / "tls"
    cert = tls_dir / "cert.pem"
    key = tls_dir / "key.pem"
    if not (cert.exists() and key.exists()):
        _generate_self_signed(settings.server.hostname, cert, key)
    return TlsMaterial(cert, key, certificate_fingerprint(cert), is_generated=True)


def build_ssl_context(material: TlsMaterial, min_version: str = "TLSv1.2") -> ssl.SSLContext:
    """A server context: TLS 1.2+ (or 1.3 only), ECDHE+AEAD suites, no compression."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = (ssl.TLSVersion.TLSv1_3 if min_version == "TLSv1.3"
                           else ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers(_CIPHERS_TLS12)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    ctx.load_cert_chain(str(material.cert_file), str(material.key_file))
    return ctx


class TlsContext:
    """Holds the live ``SSLContext`` and reloads its certificate in place."""

    def __init__(self, material: TlsMaterial, min_version: str = "TLSv1.2") -> None:
        self._material = material
        self.context: ssl.SSLContext = build_ssl_context(material, min_version)

    @property
    def material(self) -> TlsMaterial:
        return self._material

    def reload(self) -> TlsMaterial:
        """Load the certificate and key files again (after renewal). A broken new file raises
        ``ssl.SSLError``/``OSError`` and leaves the old certificate in service."""
        self.context.load_cert_chain(str(self._material.cert_file),
                                     str(self._material.key_file))
        self._material = TlsMaterial(self._material.cert_file, self._material.key_file,
                                     certificate_fingerprint(self._material.cert_file),
                                     self._material.is_generated)
        return self._material
