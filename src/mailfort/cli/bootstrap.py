"""The composition root: the only place that builds concrete objects (STYLE.md §2)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mailfort.audit.events import ConfigReloaded, EventSink
from mailfort.auth.app_passwords import AppPasswordService
from mailfort.auth.authenticator import Authenticator
from mailfort.auth.login import LoginService, LoginSettings
from mailfort.auth.mfa import MfaRequirement, MfaRequirementSettings, MfaService
from mailfort.auth.passwords import PasswordHashing
from mailfort.auth.policy import PasswordPolicy, PasswordPolicySettings
from mailfort.auth.tokens import TokenKey, TokenService
from mailfort.config.model import Settings
from mailfort.core.clock import Clock
from mailfort.core.errors import ConfigError
from mailfort.guard.bans import BanSettings
from mailfort.guard.guard import Guard, GuardSettings
from mailfort.guard.ippolicy import IpPolicySettings
from mailfort.guard.lockout import LockoutSettings
from mailfort.guard.ratelimit import ConnectionLimitSettings, DelaySchedule
from mailfort.store.acl import AclStore
from mailfort.store.api import MailStore
from mailfort.store.labels import HoneytokenKind, LabelStore
from mailfort.store.security import SecurityStore
from mailfort.store.types import UserId

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from mailfort.audit.bus import AuditBus
    from mailfort.audit.chain import AuditChain
    from mailfort.audit.detectors import DetectionEngine
    from mailfort.audit.detectors.honeytoken import HoneytokenDetector
    from mailfort.audit.metrics import Metrics, MetricsServer
    from mailfort.audit.sinks import AlertRouter, SyslogSink, UserNotifier, WebhookSink
    from mailfort.audit.sinks.webhook import HttpPoster
    from mailfort.service.imap.audit import AuditHooks, SessionControls

__all__ = ["Runtime", "runtime", "Security", "build_security", "policy_settings",
           "guard_settings", "security_state", "acl_state", "load_token_key", "mfa_requirement",
           "TOKEN_KEY_FILENAME",
           "AuditRuntime", "open_audit", "label_store", "StoreMailDrop", "audit_signing_key"]


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: MailStore
    hashing: PasswordHashing
    authenticator: Authenticator


async def open_store(settings: Settings) -> MailStore:
    from mailfort.store.sqlite import open_sqlite_store

    return await open_sqlite_store(settings.data_dir)


@asynccontextmanager
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Open the store and the login machinery; close them on exit."""
    store = await open_store(settings)
    hashing = PasswordHashing(settings.auth)
    try:
        authenticator = Authenticator(store.users, hashing,
                                      failure_delay_s=settings.auth.failure_delay_ms / 1000)
        yield Runtime(settings, store, hashing, authenticator)
    finally:
        hashing.close()
        await store.close()


# --- Account security (issue #3) -------------------------------------------------------------
# Maps the [policy], [guard], [mfa] and [tokens] settings onto the pure layers' own settings and
# builds the services on the store's security state. Kept apart from ``runtime`` so the server
# and the CLI choose when to build it:
#
#     async with runtime(settings) as rt:
#         sec = await build_security(settings, rt.store, SystemClock(), sink, hashing=rt.hashing)

TOKEN_KEY_FILENAME = "token-signing.key"  # noqa: S105 - a file name, not a secret
# The key of the guard's stale-password fingerprints (kept in the database): outside the
# database, so its rows alone cannot be used to test password guesses.
GUARD_KEY_FILENAME = "guard-fingerprint.key"


@dataclass(frozen=True, slots=True)
class Security:
    guard: Guard
    login_service: LoginService
    mfa: MfaService
    app_passwords: AppPasswordService
    tokens: TokenService
    policy: PasswordPolicy
    state: SecurityStore
    mfa_requirement: MfaRequirement  # [mfa] required_users / required_groups


def policy_settings(settings: Settings) -> PasswordPolicySettings:
    p = settings.policy
    return PasswordPolicySettings(
        min_length=p.min_length, min_length_without_mfa=p.min_length_without_mfa,
        max_length=p.max_length, min_strength=p.min_strength,
        required_classes=p.required_classes,
        hibp_file=str(settings.path(p.hibp_file)) if p.hibp_file else "",
        max_age_days=p.max_age_days)


def guard_settings(settings: Settings) -> GuardSettings:
    g = settings.guard
    return GuardSettings(
        lockout=LockoutSettings(threshold=g.lockout_threshold, window_s=g.lockout_window_s,
                                lockout_s=g.lockout_s, max_lockout_s=g.max_lockout_s,
                                attack_sources=g.attack_sources,
                                attack_threshold=g.attack_threshold),
        bans=BanSettings(address_failures=g.ban_address_failures,
                         network_failures=g.ban_network_failures, window_s=g.ban_window_s,
                         stuffing_accounts=g.stuffing_accounts,
                         network_stuffing_accounts=g.network_stuffing_accounts,
                         stuffing_window_s=g.stuffing_window_s, ban_s=g.ban_s,
                         growth=g.ban_growth, max_ban_s=g.max_ban_s),
        limits=ConnectionLimitSettings(
            total_per_address=g.max_connections_per_address,
            pre_auth_per_address=g.max_pre_auth_per_address,
            per_user_and_address=g.max_connections_per_user_and_address,
            pre_auth_timeout_s=settings.server.pre_auth_timeout_s),
        ip=IpPolicySettings(allow=g.allow, deny=g.deny, trusted=g.trusted,
                            user_allow=g.user_allow, group_allow=g.group_allow,
                            groups=g.groups),
        delays=DelaySchedule(g.delays_s))


def security_state(store: MailStore) -> SecurityStore:
    """The account-security state kept by ``store`` (the same database)."""
    from mailfort.store.sqlite import SqliteMailStore

    if isinstance(store, SqliteMailStore):
        return store.security
    raise ConfigError("storage.backend", "this backend keeps no account-security state")


def acl_state(store: MailStore) -> AclStore:
    """Groups, roles, ACLs, shared mailboxes and quotas kept by ``store`` (the same database)."""
    from mailfort.store.sqlite import SqliteMailStore

    if isinstance(store, SqliteMailStore):
        return store.acl
    raise ConfigError("storage.backend", "this backend keeps no ACL state")


def load_token_key(path: Path) -> TokenKey:
    """The token signing key at ``path``, created (mode 0600) on first use."""
    try:
        return TokenKey.from_bytes(path.read_bytes())
    except FileNotFoundError:
        pass
    except ValueError:
        raise ConfigError("tokens.key_file", f"{path} is not an Ed25519 key") from None
    key = TokenKey.generate()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(key.to_bytes())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic, and never replaces a key another process made
        except FileExistsError:
            return TokenKey.from_bytes(path.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    return key


def load_guard_key(path: Path) -> bytes:
    """The guard's fingerprint key at ``path``, created (32 random bytes, mode 0600) on first
    use; the same for every process on this data directory (server and CLI) and across
    restarts, so a stale password retried after a restart still counts once."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = b""
    if len(key) >= 32:
        return key
    if key:
        raise ConfigError("storage.data_dir", f"{path} is damaged (too short); delete it")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fresh = secrets.token_bytes(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(fresh)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic; never replaces a key another process made
        except FileExistsError:
            return path.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    return fresh


async def build_security(settings: Settings, store: MailStore, clock: Clock, sink: EventSink,
                         *, hashing: PasswordHashing) -> Security:
    """Build the guard (its bans and known networks restored from the store), the login
    service and the MFA, app-password and token services on ``store``'s security state."""
    state = security_state(store)
    pol = policy_settings(settings)
    guard_key = await asyncio.to_thread(load_guard_key, settings.data_dir / GUARD_KEY_FILENAME)
    guard = Guard(guard_settings(settings), state.guard_state, clock, sink,
                  fingerprint_key=guard_key)
    await guard.load()
    mfa = MfaService(state.mfa_secrets, state.recovery_codes, clock, sink,
                     issuer=settings.mfa.issuer)
    apps = AppPasswordService(state.app_passwords, clock, sink)
    requirement = mfa_requirement(settings, store)
    key_path = (settings.path(settings.tokens.key_file) if settings.tokens.key_file
                else settings.data_dir / TOKEN_KEY_FILENAME)
    key = await asyncio.to_thread(load_token_key, key_path)
    tokens = TokenService(key, state.tokens, clock, sink, ttl_s=settings.tokens.ttl_s,
                          max_ttl_s=settings.tokens.max_ttl_s)
    login = LoginService(store.users, hashing, state.password_states, guard, mfa, apps, tokens,
                         clock, sink, LoginSettings(
                             failure_delay_s=settings.auth.failure_delay_ms / 1000,
                             allow_password_plus_totp=settings.mfa.allow_password_plus_totp,
                             policy=pol), mfa_requirement=requirement)
    return Security(guard, login, mfa, apps, tokens, PasswordPolicy.default(pol), state,
                    requirement)


def mfa_requirement(settings: Settings, store: MailStore) -> MfaRequirement:
    """``[mfa] required_users`` / ``required_groups``; groups from the store's ACL state
    (``mailfort group``) and from ``[guard.groups]``."""
    groups = acl_state(store).groups if settings.mfa.required_groups else None
    return MfaRequirement(MfaRequirementSettings(
        users=settings.mfa.required_users, groups=settings.mfa.required_groups,
        config_groups=settings.guard.groups), groups)


# --- The audit layer (issue #4) ----------------------------------------------------------------
# The bus and its subscribers: the hash-chained log (ChainWriter), the detectors (state persisted
# in DATA/audit-detectors.json, honeytokens reloaded from the store), metrics, the alert router
# (webhook, syslog, security mailbox), the user notices and the alert actions. ``open_audit``
# starts them and stops them (draining the bus) on exit:
#
#     async with open_audit(settings, rt.store, SystemClock()) as audit:
#         sec = await build_security(settings, rt.store, clock, audit.bus, hashing=rt.hashing)
#         await serve(..., audit=audit.hooks, on_reload=audit.reloaded)

DETECTOR_STATE_FILENAME = "audit-detectors.json"
WEBHOOK_QUEUE_FILENAME = "audit-webhook.db"


def label_store(store: MailStore) -> LabelStore:
    """Mailbox labels and honeytokens kept by ``store`` (the same database)."""
    from mailfort.store.sqlite import SqliteMailStore

    if isinstance(store, SqliteMailStore):
        return store.labels
    raise ConfigError("storage.backend", "this backend keeps no labels")


class StoreMailDrop:
    """``audit.sinks.MailDrop`` over the store: a notice is delivered like any message."""

    def __init__(self, store: MailStore) -> None:
        self._store = store

    async def deliver(self, user: str, mailbox: str, raw: bytes) -> None:
        from mailfort.service.delivery import deliver_to_user

        await deliver_to_user(self._store, user, raw, mailbox=mailbox)


class _StoreUserIds:
    def __init__(self, store: MailStore) -> None:
        self._store = store

    async def user_id(self, name: str) -> UserId | None:
        user = await self._store.users.get(name)
        return user.id if user is not None else None


def audit_signing_key(settings: Settings) -> tuple[Ed25519PrivateKey, bool]:
    """The checkpoint signing key (created on first use, outside the data directory);
    True when it was just created."""
    from mailfort.audit.chain import check_key_outside, generate_signing_key, load_signing_key

    path = settings.path(settings.audit.signing_key_file)
    check_key_outside(path, settings.data_dir)
    if path.is_file():
        return load_signing_key(path), False
    generate_signing_key(path)
    return load_signing_key(path), True


@dataclass
class AuditRuntime:
    settings: Settings
    bus: AuditBus
    chain: AuditChain
    engine: DetectionEngine
    metrics: Metrics
    router: AlertRouter
    controls: SessionControls
    notifier: UserNotifier
    honeytokens: HoneytokenDetector
    hooks: AuditHooks
    labels: LabelStore
    clock: Clock
    webhook: WebhookSink | None = None
    syslog: SyslogSink | None = None
    metrics_server: MetricsServer | None = None
    geoip: str = "off"  # "off" or the database path
    key_created: bool = False

    @property
    def state_path(self) -> Path:
        return self.settings.data_dir / DETECTOR_STATE_FILENAME

    async def refresh_honeytokens(self) -> int:
        """Load the honeytoken registry from the store into the detector."""
        tokens = await self.labels.honeytokens()
        for t in tokens:
            if t.kind is HoneytokenKind.USER:
                self.honeytokens.add_decoy_user(t.user)
            elif t.kind is HoneytokenKind.APP_PASSWORD:
                self.honeytokens.add_decoy_app_password(t.user, t.name)
            else:
                self.honeytokens.add_canary(t.user, t.name, t.uid)
        return len(tokens)

    def reloaded(self) -> None:
        """SIGHUP: audit it and reload the honeytokens."""
        self.bus.emit(ConfigReloaded(self.clock.now(), "signal", ("tls",)))
        asyncio.get_running_loop().create_task(self.refresh_honeytokens())

    async def save_state(self) -> None:
        await asyncio.to_thread(self.engine.save, self.state_path)


async def _audit_housekeeping(rt: AuditRuntime) -> None:
    """Now and then: persist detector state, reload honeytokens, sign the head."""
    import logging

    log = logging.getLogger(__name__)
    while True:
        await asyncio.sleep(rt.settings.audit.state_save_interval_s)
        try:
            await rt.save_state()
            await rt.refresh_honeytokens()
            await asyncio.to_thread(rt.chain.checkpoint)
        except Exception as exc:  # noqa: BLE001 - housekeeping never stops the server
            log.warning("audit housekeeping failed: %s", type(exc).__name__)


@asynccontextmanager
async def open_audit(settings: Settings, store: MailStore, clock: Clock, *,
                     poster: HttpPoster | None = None) -> AsyncIterator[AuditRuntime]:
    """Build, start and (on exit) drain and stop the audit layer."""
    from mailfort.audit.bus import AuditBus, ChainWriter
    from mailfort.audit.chain import AuditChain
    from mailfort.audit.detectors import DetectionEngine, default_detectors
    from mailfort.audit.detectors.geo import GeoDetector, MaxMindLocator
    from mailfort.audit.detectors.honeytoken import HoneytokenDetector
    from mailfort.audit.metrics import Metrics, MetricsServer
    from mailfort.audit.sinks import (
        AlertRouter,
        AlertSink,
        SecurityMailboxSink,
        SyslogSink,
        UserNotifier,
        WebhookSink,
        parse_syslog_address,
    )
    from mailfort.core.secret import Secret
    from mailfort.service.imap.audit import AuditHooks, SessionControls

    a = settings.audit
    key, created = await asyncio.to_thread(audit_signing_key, settings)
    chain = await asyncio.to_thread(
        AuditChain, settings.data_dir / a.db_file, clock, signer=key,
        checkpoint_every=a.checkpoint_every, checkpoint_interval_s=a.checkpoint_interval_s)
    bus = AuditBus(queue_size=a.queue_size)
    detectors = default_detectors(a.detectors, clock)
    geoip = "off"
    locator: MaxMindLocator | None = None
    if a.geoip_db:
        locator = MaxMindLocator(settings.path(a.geoip_db))
        detectors.append(GeoDetector(a.detectors, clock, locator))
        geoip = str(settings.path(a.geoip_db))
    honey = next(d for d in detectors if isinstance(d, HoneytokenDetector))
    engine = DetectionEngine(detectors, bus.emit)
    state_path = settings.data_dir / DETECTOR_STATE_FILENAME
    await asyncio.to_thread(engine.load, state_path)
    metrics = Metrics()
    drop = StoreMailDrop(store)
    sinks: list[AlertSink] = []
    webhook: WebhookSink | None = None
    if a.webhook.url:
        secret = Secret(settings.path(a.webhook.secret_file).read_bytes().strip())
        webhook = WebhookSink(a.webhook.url, secret, settings.data_dir / WEBHOOK_QUEUE_FILENAME,
                              clock, poster=poster, max_attempts=a.webhook.max_attempts,
                              backoff_initial_s=a.webhook.backoff_initial_s,
                              backoff_max_s=a.webhook.backoff_max_s,
                              timeout_s=a.webhook.timeout_s)
        sinks.append(webhook)
    syslog: SyslogSink | None = None
    if a.syslog.address:
        syslog = SyslogSink(parse_syslog_address(a.syslog.address),
                            app_name=a.syslog.app_name, facility=a.syslog.facility)
        sinks.append(syslog)
    if a.security_mailbox_user:
        sinks.append(SecurityMailboxSink(drop, a.security_mailbox_user, a.security_mailbox))
    router = AlertRouter(sinks, clock, dedup_window_s=a.dedup_window_s,
                         per_minute=a.alerts_per_minute)
    notifier = UserNotifier(drop, a.notify)
    labels = label_store(store)
    controls = SessionControls(throttle_bytes_per_s=a.detectors.throttle_bytes_per_s,
                               password_states=security_state(store).password_states,
                               users=_StoreUserIds(store))
    for sub in (ChainWriter(chain), engine, metrics, router, notifier, controls):
        bus.subscribe(sub)
    hooks = AuditHooks(sink=bus, clock=clock, labels=labels, metrics=metrics,
                       controls=controls, sensitive_label=a.sensitive_label,
                       record_subjects=a.record_subjects, canaries=honey)
    rt = AuditRuntime(settings, bus, chain, engine, metrics, router, controls, notifier, honey,
                      hooks, labels, clock, webhook, syslog, None, geoip, created)
    await rt.refresh_honeytokens()
    await bus.start()
    if webhook is not None:
        webhook.start()
    if a.metrics_listen:
        from mailfort.config.load import parse_hostport

        host, port = parse_hostport(a.metrics_listen, "audit.metrics_listen")
        try:
            rt.metrics_server = await asyncio.to_thread(MetricsServer, metrics, host, port)
        except OSError as exc:  # a busy port must not keep mail from being served
            import logging

            logging.getLogger(__name__).warning(
                "metrics endpoint %s not started: %s", a.metrics_listen, exc.strerror)
    housekeeping = asyncio.get_running_loop().create_task(_audit_housekeeping(rt))
    from mailfort.audit.checkpoint_timer import CheckpointTimer

    checkpoints = asyncio.get_running_loop().create_task(CheckpointTimer(chain).run())
    try:
        yield rt
    finally:
        for task in (housekeeping, checkpoints):
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        await bus.aclose()
        await rt.save_state()
        if webhook is not None:
            await webhook.aclose()
        if syslog is not None:
            await syslog.aclose()
        if rt.metrics_server is not None:
            await asyncio.to_thread(rt.metrics_server.close)
        if locator is not None:
            locator.close()
        await asyncio.to_thread(chain.close)
