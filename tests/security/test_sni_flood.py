"""SECURITY.md row #7 — CVE-2017-15130 (Dovecot < 2.2.34): every distinct SNI name triggered a
configuration lookup that was cached, so random names grew memory until a restart.

Mailfort has one certificate and no per-name configuration yet; the row still applies to the
TLS listener as it is. Safe behaviour: handshakes with random SNI names all succeed with the
default certificate, and the server's RSS stays flat. Scaled from 10,000 handshakes to 400
(after 50 to warm up): enough to see a per-name cache of even a few KiB per entry.
"""

from __future__ import annotations

import secrets
import ssl

from tests.security.wire import Server

ALLOWED_GROWTH_KIB = 8 * 1024


def _handshake(server: Server, ctx: ssl.SSLContext, name: str) -> bytes:
    raw = server.tcp(server.proc.imaps_port)
    with ctx.wrap_socket(raw, server_hostname=name) as tls:
        cert = tls.getpeercert(binary_form=True)
        assert cert is not None
        return cert


def test_random_sni_names_get_the_default_certificate_and_no_memory(server: Server) -> None:
    ctx = server.proc.ssl_context()
    pem = server.proc.cert_path.read_text()
    expected = ssl.PEM_cert_to_DER_cert(pem[: pem.index("-----END CERTIFICATE-----") + 25])
    for _ in range(50):
        assert _handshake(server, ctx, f"{secrets.token_hex(8)}.example") == expected
    before = server.rss_kib()
    for _ in range(400):
        name = f"{secrets.token_hex(20)}.{secrets.token_hex(20)}.example"
        assert _handshake(server, ctx, name) == expected
    growth = server.rss_kib() - before
    assert growth < ALLOWED_GROWTH_KIB, f"RSS grew {growth} KiB over 400 random SNI names"
