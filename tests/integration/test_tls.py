"""TLS material and the server's TLS profile."""

from __future__ import annotations

import os
import socket
import ssl
import stat
from pathlib import Path

import pytest
from tests.conftest import RunningServer

from mailfort.config.model import ServerSettings, Settings, StorageSettings
from mailfort.server.tls import TlsContext, certificate_fingerprint, ensure_tls_material


def _settings(tmp_path: Path) -> Settings:
    return Settings(server=ServerSettings(hostname="mail.example.test"),
                    storage=StorageSettings(data_dir=str(tmp_path / "data")),
                    base_dir=tmp_path)


def test_self_signed_is_generated_once_with_private_key(tmp_path: Path) -> None:
    first = ensure_tls_material(_settings(tmp_path))
    assert first.is_generated
    assert stat.S_IMODE(os.stat(first.key_file).st_mode) == 0o600
    assert len(first.fingerprint_sha256.split(":")) == 32
    again = ensure_tls_material(_settings(tmp_path))
    assert again.fingerprint_sha256 == first.fingerprint_sha256


def test_reload_picks_up_a_new_certificate(tmp_path: Path) -> None:
    material = ensure_tls_material(_settings(tmp_path))
    holder = TlsContext(material)
    before = holder.material.fingerprint_sha256
    material.cert_file.unlink()
    material.key_file.unlink()
    ensure_tls_material(_settings(tmp_path))  # a fresh pair at the same paths
    after = holder.reload()
    assert after.fingerprint_sha256 != before
    assert after.fingerprint_sha256 == certificate_fingerprint(material.cert_file)


def test_server_certificate_matches_fingerprint(server: RunningServer) -> None:
    with socket.create_connection(("127.0.0.1", server.imaps_port), timeout=10) as raw:
        with server.client_context().wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    import hashlib
    digest = hashlib.sha256(der).hexdigest().upper()
    assert ":".join(digest[i:i + 2] for i in range(0, 64, 2)) == server.fingerprint


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_1_1_is_refused(server: RunningServer, tmp_path: Path) -> None:
    # The server's own context never allows less than TLS 1.2, whatever the client can offer.
    live = TlsContext(ensure_tls_material(_settings(tmp_path)))
    assert live.context.minimum_version >= ssl.TLSVersion.TLSv1_2
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        return  # this OpenSSL cannot offer TLS 1.1 at all: the check above is what remains
    with socket.create_connection(("127.0.0.1", server.imaps_port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            ctx.wrap_socket(raw, server_hostname="localhost").close()
