"""Builders of small night documents and the location of the shared examples."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["REPO_ROOT", "at", "night", "request", "shared_dir", "space"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """The `shared` folder beside the repository root, or $PARKING_SHARED_DIR."""
    configured = os.environ.get("PARKING_SHARED_DIR")
    return Path(configured) if configured else (REPO_ROOT / ".." / "shared").resolve()


def at(hhmm: str, next_day: bool = False) -> str:
    day = "2026-11-29" if next_day else "2026-11-28"
    return f"{day}T{hhmm}:00+08:00"


def space(space_id: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": space_id,
        "building_id": "B1",
        "lat": 22.565,
        "lon": 114.128,
        "features": [],
        "price_fen": 1000,
        "available": [[at("19:00"), at("08:00", next_day=True)]],
    }
    doc.update(overrides)
    return doc


def request(request_id: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": request_id,
        "lat": 22.5652,
        "lon": 114.1282,
        "arrive": at("20:00"),
        "depart": at("07:00", next_day=True),
        "max_walk_m": 800,
        "max_price_fen": 1500,
        "needs": [],
        "weight": 1,
    }
    doc.update(overrides)
    return doc


def night(
    spaces: list[dict[str, Any]], requests: list[dict[str, Any]], turnover: int = 10
) -> dict[str, Any]:
    return {
        "format": "shared-parking-night/1",
        "night": "2026-11-28",
        "turnover_minutes": turnover,
        "spaces": spaces,
        "requests": requests,
    }
