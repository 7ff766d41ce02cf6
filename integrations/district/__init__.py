"""The operator side of the district platform protocol (shared/district-platform/PROTOCOL.md).

``relay_once`` (or the ``run_relay`` loop), ``reconcile`` and ``housekeeping`` are what a
scheduler calls; the rest is their parts.
"""

from __future__ import annotations

from integrations.district.reconcile import Report, reconcile
from integrations.district.relay import relay_once, run_relay
from integrations.district.suspensions import apply_suspensions, housekeeping

__all__ = [
    "Report",
    "apply_suspensions",
    "housekeeping",
    "reconcile",
    "relay_once",
    "run_relay",
]
