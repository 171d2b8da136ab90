"""Mailfort itself, with its defaults: no finding above info (uses the shared `server` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pytest

from mailfort.scan.context import ScanOptions
from mailfort.scan.report import Severity
from mailfort.scan.runner import scan_host

pytestmark = pytest.mark.timeout(240)


class RunningServer(Protocol):
    """The part of tests/conftest.py's RunningServer this test uses."""

    host: str
    imap_port: int
    imaps_port: int
    cert_file: Path


def test_mailfort_defaults_have_nothing_above_info(server: RunningServer) -> None:
    options = ScanOptions(
        ports=(server.imap_port, server.imaps_port),
        ca_file=server.cert_file,  # the test server's own self-signed certificate, trusted here
        host_timeout_s=180,
    )
    report = scan_host(server.host, options)
    assert report.reachable
    above = [
        (f.id, f.port, f.evidence) for f in report.findings if f.severity.rank > Severity.INFO.rank
    ]
    assert above == []
