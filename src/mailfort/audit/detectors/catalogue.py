"""Every detector, built from the settings: the list the bootstrap hands the engine."""

from __future__ import annotations

from mailfort.audit.detectors.brute_force import BruteForceDetector
from mailfort.audit.detectors.compromise import CompromiseDetector
from mailfort.audit.detectors.credential_stuffing import CredentialStuffingDetector
from mailfort.audit.detectors.engine import Detector
from mailfort.audit.detectors.exfiltration import ExfiltrationDetector
from mailfort.audit.detectors.honeytoken import HoneytokenDetector
from mailfort.audit.detectors.mass_deletion import MassDeletionDetector
from mailfort.audit.detectors.new_device import NewDeviceDetector
from mailfort.audit.detectors.permission_change import PermissionChangeDetector
from mailfort.audit.detectors.sensitive_folder import SensitiveFolderDetector
from mailfort.audit.detectors.unusual_hour import UnusualHourDetector
from mailfort.audit.settings import DetectorSettings
from mailfort.core.clock import Clock

__all__ = ["default_detectors"]


def default_detectors(settings: DetectorSettings, clock: Clock) -> list[Detector]:
    return [
        BruteForceDetector(settings, clock), CredentialStuffingDetector(settings, clock),
        CompromiseDetector(settings, clock), NewDeviceDetector(settings, clock),
        UnusualHourDetector(settings, clock), ExfiltrationDetector(settings, clock),
        MassDeletionDetector(settings, clock), SensitiveFolderDetector(settings, clock),
        PermissionChangeDetector(settings, clock), HoneytokenDetector(settings, clock),
    ]
