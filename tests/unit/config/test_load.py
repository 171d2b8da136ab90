from __future__ import annotations

from pathlib import Path

import pytest

from mailfort.config.load import load_settings, parse_settings
from mailfort.config.model import Settings
from mailfort.core.errors import ConfigError


def test_defaults_are_secure() -> None:
    s = Settings()
    assert s.server.imaps_listen.startswith("127.0.0.1:")
    assert s.server.imap_listen.startswith("127.0.0.1:")
    assert not s.server.allow_plaintext_auth_on_loopback
    assert s.tls.min_version == "TLSv1.2"
    assert s.auth.argon2_memory_kib >= 19456 and s.auth.argon2_time_cost >= 2
    assert s.limits.max_line_bytes == 64 * 1024
    assert s.limits.max_message_bytes == 50 * 1024 * 1024


def test_values_are_read_and_paths_resolved(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text('[server]\nimap_listen = "127.0.0.1:2143"\n[storage]\ndata_dir = "d"\n')
    s = load_settings(cfg)
    assert s.server.imap_listen == "127.0.0.1:2143"
    assert s.data_dir == tmp_path / "d"


@pytest.mark.parametrize(("doc", "key"), [
    ("[server]\nbogus = 1\n", "server.bogus"),
    ("[nosuch]\n", "nosuch"),
    ('[server]\nimap_listen = "nope"\n', "server.imap_listen"),
    ('[server]\nimap_listen = "1.2.3.4:99999"\n', "server.imap_listen"),
    ("[server]\npre_auth_timeout_s = -1\n", "server.pre_auth_timeout_s"),
    ('[server]\npre_auth_timeout_s = "60"\n', "server.pre_auth_timeout_s"),
    ("[server]\nallow_plaintext_auth_on_loopback = 1\n",
     "server.allow_plaintext_auth_on_loopback"),
    ('[tls]\nmin_version = "TLSv1.0"\n', "tls.min_version"),
    ('[tls]\ncert_file = "c.pem"\n', "tls.cert_file"),
    ('[log]\nformat = "xml"\n', "log.format"),
    ("[limits]\nmax_literal_bytes = 100\nmax_message_bytes = 10\n", "limits.max_literal_bytes"),
    ("server = 3\n", "server"),
])
def test_bad_config_names_the_key(tmp_path: Path, doc: str, key: str) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text(doc)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert info.value.key == key


def test_not_toml_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(cfg)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.toml")


def test_empty_listener_disables_it() -> None:
    s = parse_settings({"server": {"imap_listen": ""}}, Path("."))
    assert s.server.imap_listen == ""
