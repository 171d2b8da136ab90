"""The account-security sections: [policy], [guard], [mfa], [tokens]."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailfort.config.load import load_settings
from mailfort.config.model import Settings
from mailfort.core.errors import ConfigError


def _load(tmp_path: Path, doc: str) -> Settings:
    cfg = tmp_path / "m.toml"
    cfg.write_text(doc, encoding="utf-8")
    return load_settings(cfg)


def test_security_defaults_match_the_issue() -> None:
    s = Settings()
    assert s.policy.min_length == 12 and s.policy.max_length >= 64
    assert s.policy.max_age_days == 0 and s.policy.required_classes == 0
    assert s.guard.lockout_threshold == 10 and s.guard.lockout_window_s == 15 * 60
    assert s.guard.stuffing_accounts == 5 and s.guard.stuffing_window_s == 10 * 60
    assert s.guard.max_connections_per_address == 1000
    assert s.guard.max_connections_per_user_and_address == 20
    assert s.guard.max_pre_auth_per_address == 50
    assert s.guard.delays_s[0] == 0 and max(s.guard.delays_s) == 15
    assert not s.mfa.allow_password_plus_totp
    assert s.tokens.ttl_s == 3600


def test_security_values_are_read(tmp_path: Path) -> None:
    s = _load(tmp_path, """
[policy]
min_length = 15
min_strength = 0
required_classes = 3
max_age_days = 365

[guard]
lockout_threshold = 5
delays_s = [0, 0.5, 3]
allow = ["192.0.2.0/24", "2001:db8::1"]
deny = ["203.0.113.0/24"]
trusted = ["10.0.0.0/8"]

[guard.user_allow]
"alice@example.com" = ["198.51.100.0/24"]

[guard.groups]
finance = ["bob@example.com", "carol@example.com"]

[guard.group_allow]
finance = ["10.1.0.0/16", "fd00::/8"]

[mfa]
issuer = "Example Mail"
allow_password_plus_totp = true

[tokens]
ttl_s = 600
""")
    assert s.policy.min_length == 15 and s.policy.min_strength == 0
    assert s.policy.required_classes == 3 and s.policy.max_age_days == 365
    assert s.guard.lockout_threshold == 5
    assert s.guard.delays_s == (0.0, 0.5, 3.0)
    assert s.guard.allow == ("192.0.2.0/24", "2001:db8::1")
    assert s.guard.user_allow["alice@example.com"] == ("198.51.100.0/24",)
    assert s.guard.groups["finance"] == ("bob@example.com", "carol@example.com")
    assert s.guard.group_allow["finance"] == ("10.1.0.0/16", "fd00::/8")
    assert s.mfa.issuer == "Example Mail" and s.mfa.allow_password_plus_totp
    assert s.tokens.ttl_s == 600
    with pytest.raises(TypeError):
        s.guard.user_allow["mallory"] = ("0.0.0.0/0",)  # type: ignore[index]


@pytest.mark.parametrize(("doc", "key"), [
    ("[policy]\nbogus = 1\n", "policy.bogus"),
    ("[policy]\nmin_strength = 5\n", "policy.min_strength"),
    ("[policy]\nmin_strength = -1\n", "policy.min_strength"),
    ("[policy]\nmin_length = 0\n", "policy.min_length"),
    ("[policy]\nmax_length = 32\n", "policy.max_length"),
    ("[policy]\nmin_length = 2000\n", "policy.min_length"),
    ('[policy]\nhibp_file = "missing.txt"\n', "policy.hibp_file"),
    ('[policy]\nrequired_classes = "3"\n', "policy.required_classes"),
    ('[guard]\nallow = ["192.0.2.300"]\n', "guard.allow"),
    ('[guard]\ndeny = "192.0.2.0/24"\n', "guard.deny"),
    ('[guard]\ntrusted = ["10.0.0.0/33"]\n', "guard.trusted"),
    ('[guard]\ntrusted = [7]\n', "guard.trusted"),
    ('[guard.user_allow]\n"alice@example.com" = ["nope"]\n', "guard.user_allow.alice@example.com"),
    ('[guard]\nuser_allow = ["10.0.0.0/8"]\n', "guard.user_allow"),
    ('[guard.group_allow]\nfinance = ["10.0.0.0/8"]\n', "guard.group_allow.finance"),
    ("[guard]\ndelays_s = [0, -1]\n", "guard.delays_s"),
    ('[guard]\ndelays_s = [0, "1"]\n', "guard.delays_s"),
    ("[guard]\ndelays_s = []\n", "guard.delays_s"),
    ("[guard]\nlockout_threshold = 0\n", "guard.lockout_threshold"),
    ("[guard]\nban_s = 100000\n", "guard.ban_s"),
    ("[guard]\nnope = 1\n", "guard.nope"),
    ("[mfa]\nallow_password_plus_totp = 1\n", "mfa.allow_password_plus_totp"),
    ("[tokens]\nttl_s = 100000\n", "tokens.ttl_s"),
    ("[tokens]\nttl_s = -5\n", "tokens.ttl_s"),
])
def test_bad_security_values_name_the_key(tmp_path: Path, doc: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, doc)
    assert info.value.key == key


def test_hibp_file_is_resolved_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "pwned.txt").write_text("0000000000000000000000000000000000000000:1\n")
    s = _load(tmp_path, '[policy]\nhibp_file = "pwned.txt"\n')
    assert s.path(s.policy.hibp_file) == tmp_path / "pwned.txt"
