"""Detectors: one module per detection, pure logic over audit events."""

from mailfort.audit.detectors.brute_force import BruteForceDetector
from mailfort.audit.detectors.catalogue import default_detectors
from mailfort.audit.detectors.compromise import CompromiseDetector
from mailfort.audit.detectors.credential_stuffing import CredentialStuffingDetector
from mailfort.audit.detectors.engine import Cooldown, DetectionEngine, Detector
from mailfort.audit.detectors.exfiltration import ExfiltrationDetector
from mailfort.audit.detectors.honeytoken import HoneytokenDetector
from mailfort.audit.detectors.mass_deletion import MassDeletionDetector
from mailfort.audit.detectors.new_device import NewDeviceDetector, network_of
from mailfort.audit.detectors.permission_change import PermissionChangeDetector
from mailfort.audit.detectors.sensitive_folder import SensitiveFolderDetector
from mailfort.audit.detectors.unusual_hour import UnusualHourDetector

__all__ = [
    "BruteForceDetector", "CompromiseDetector", "CredentialStuffingDetector", "Cooldown",
    "DetectionEngine", "Detector", "ExfiltrationDetector", "HoneytokenDetector",
    "MassDeletionDetector", "NewDeviceDetector", "PermissionChangeDetector",
    "SensitiveFolderDetector", "UnusualHourDetector", "default_detectors", "network_of",
]
