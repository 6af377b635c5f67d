"""The agency's usage and privacy policy, shown and acknowledged at login."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

BUILTIN_POLICY = """\
Usage and privacy policy for automated licence plate recognition (ALPR)

1. Authorised purposes. ALPR data on this unit may be accessed only by trained, authorised
   staff of {agency}, for a stated law-enforcement purpose, with a case number for any
   investigation, or to maintain and audit the system.
2. Accountability. Every access records the date and time, your user name and organisation,
   the plate or other terms you queried and your stated purpose (Civ. Code §1798.90.52).
   The record is tamper-evident and audited.
3. Hotlist alerts are UNVERIFIED. Confirm every alert through the state system (CLETS)
   before taking any enforcement action.
4. Retention. Reads are purged when the retention period ends unless held as evidence.
5. Release. ALPR data is released only on a recorded request naming the requesting agency,
   the requester, the purpose and the approver.
6. Training. Access requires current training on this policy.

ALPR administrator (custodian of this system): {administrator}
"""


@dataclass(frozen=True)
class Policy:
    text: str
    sha256: str
    administrator: str
    agency: str


def load_policy(unit_config) -> Policy:
    """The configured policy file, or the built-in template filled in from [unit]."""
    agency, admin = unit_config.agency, unit_config.alpr_administrator
    if unit_config.policy_file:
        path = Path(unit_config.data_dir) / unit_config.policy_file  # absolute paths win
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"[unit].policy_file {str(path)!r} cannot be read: {exc}") from None
    else:
        logger.warning("no [unit].policy_file configured: the console shows the built-in policy")
        text = BUILTIN_POLICY.format(agency=agency, administrator=admin)
    return Policy(text, hashlib.sha256(text.encode()).hexdigest(), admin, agency)
