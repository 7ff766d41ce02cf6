"""Benchmark of the night allocator against first-come-first-served on generated nights.

Each night (deterministic for a given size and --seed) is a district laid out as
neighbourhoods on a grid 1.5 km apart; each neighbourhood has office/commercial buildings
that share spaces and residential compounds whose residents ask for them. It includes:

- windows split by breaks: every building shares one off-peak window (18:00-07:30,
  19:00-08:00 or 20:00-08:30); a third of them close for a break (23:30-00:30 or
  02:00-02:30), which splits the window in two;
- spaces partly held by earlier reservations: about a quarter of the spaces lose an
  evening (until 21:00-22:30) or a morning (from 05:30-07:00) stretch, 30-minute grid;
- short evening stays (15 %: 1-3 h from 18:00-21:00), shift workers (20 %: arriving
  22:30-01:00 or leaving 02:00-05:00) and overnight stays (the rest), on a 15-minute grid;
- EV needs (12 % of requests; 15 % of spaces have chargers), large vehicles (3 %), walking
  limits of 300, 500, 800, 1000 or 1200 m, price ceilings of 800-2000 fen against prices
  of 800-1500 fen;
- weights 1 (70 %), 2 (20 %) or 3 (10 %);
- about 0.75 spaces per request, so some requests must be refused.

Each solve runs in its own subprocess so that peak memory (max RSS) is its own.

    .venv/bin/python bench/allocator.py [--sizes 1000,2000,10000,20000,50000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

__all__ = ["generate_night", "main"]

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "bench" / "out"
SHANGHAI = timezone(timedelta(hours=8))
NIGHT = date(2026, 11, 28)
METRES_PER_DEGREE_LAT = 111_195.0
# Time limit per size: the targets are 5 s for 2k and 60 s for 20k; 50k must finish in
# 120 s, which leaves room for loading the 40 MB instance in the subprocess.
TIME_LIMIT_S = {1_000: 5.0, 2_000: 5.0, 10_000: 30.0, 20_000: 50.0, 50_000: 100.0}


def _at(minutes_after_18: int) -> str:
    instant = datetime(NIGHT.year, NIGHT.month, NIGHT.day, 18, tzinfo=SHANGHAI) + timedelta(
        minutes=minutes_after_18
    )
    return instant.isoformat()


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        round(lat + north_m / METRES_PER_DEGREE_LAT, 6),
        round(lon + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))), 6),
    )


def generate_night(n_requests: int, seed: int) -> dict[str, object]:
    """A `shared-parking-night/1` document with `n_requests` requests (see module doc)."""
    rng = random.Random(f"{seed}:{n_requests}")
    # ~1000 requests per neighbourhood keeps density the same at every size.
    n_hoods = max(1, round(n_requests / 1000))
    side = math.ceil(math.sqrt(n_hoods))
    base_lat, base_lon = 22.54, 114.10
    hoods = [
        _offset(base_lat, base_lon, 1500.0 * (i // side), 1500.0 * (i % side))
        for i in range(n_hoods)
    ]
    spaces: list[dict[str, object]] = []
    n_spaces_target = round(0.75 * n_requests)
    building = 0
    while len(spaces) < n_spaces_target:
        hood_lat, hood_lon = hoods[building % n_hoods]
        lat, lon = _offset(hood_lat, hood_lon, rng.uniform(-500, 500), rng.uniform(-500, 500))
        building += 1
        # Minutes after 18:00 of the building's off-peak window.
        open_min, close_min = rng.choice([(0, 810), (60, 840), (120, 870)])
        windows = [(open_min, close_min)]
        if rng.random() < 1 / 3:
            brk = rng.choice([(330, 390), (480, 510)])
            windows = [(open_min, brk[0]), (brk[1], close_min)]
        price_fen = rng.choice([800, 1000, 1000, 1000, 1200, 1500])
        has_chargers = rng.random() < 0.4
        for k in range(rng.randint(5, 60)):
            features = []
            if has_chargers and rng.random() < 0.375:
                features.append("ev")
            if rng.random() < 0.1:
                features.append("large")
            available = list(windows)
            if rng.random() < 0.25:
                if rng.random() < 0.5:
                    held_until = rng.choice([180, 210, 240, 270])
                    available = [(max(s, held_until), e) for s, e in available if e > held_until]
                else:
                    held_from = rng.choice([690, 720, 750, 780])
                    available = [(s, min(e, held_from)) for s, e in available if s < held_from]
                available = [(s, e) for s, e in available if e > s]
            spaces.append(
                {
                    "id": f"S{building}-{k}",
                    "building_id": f"B{building}",
                    "lat": lat,
                    "lon": lon,
                    "features": features,
                    "price_fen": price_fen,
                    "available": [[_at(s), _at(e)] for s, e in available],
                }
            )
    # Residential compounds of about 60 requesting households each.
    compounds = [
        _offset(*hoods[i % n_hoods], rng.uniform(-450, 450), rng.uniform(-450, 450))
        for i in range(max(1, n_requests // 60))
    ]
    requests: list[dict[str, object]] = []
    for i in range(n_requests):
        c_lat, c_lon = rng.choice(compounds)
        lat, lon = _offset(c_lat, c_lon, rng.uniform(-60, 60), rng.uniform(-60, 60))
        kind = rng.random()
        if kind < 0.15:  # short evening stay
            arrive = 15 * rng.randint(0, 12)
            depart = arrive + 15 * rng.randint(4, 12)
        elif kind < 0.25:  # night shift: arrives late
            arrive = 15 * rng.randint(18, 28)
            depart = 15 * rng.randint(52, 58)
        elif kind < 0.35:  # early shift: leaves in the small hours
            arrive = 15 * rng.randint(2, 14)
            depart = 15 * rng.randint(32, 44)
        else:  # overnight
            arrive = 15 * rng.randint(2, 18)
            depart = 15 * rng.randint(50, 58)
        needs = []
        if rng.random() < 0.12:
            needs.append("ev")
        if rng.random() < 0.03:
            needs.append("large")
        requests.append(
            {
                "id": f"R{i}",
                "lat": lat,
                "lon": lon,
                "arrive": _at(arrive),
                "depart": _at(depart),
                "max_walk_m": rng.choice([300, 500, 800, 800, 1000, 1200]),
                "max_price_fen": rng.choice([800, 1000, 1000, 1200, 1500, 2000]),
                "needs": needs,
                "weight": rng.choices([1, 2, 3], weights=[70, 20, 10])[0],
            }
        )
    return {
        "format": "shared-parking-night/1",
        "night": NIGHT.isoformat(),
        "turnover_minutes": 10,
        "spaces": spaces,
        "requests": requests,
    }


def _run_one(path: Path, method: str, time_limit_s: float, workers: int, seed: int) -> None:
    """Subprocess body: solve, validate, print one JSON line with the figures."""
    # Run as a script, this file's folder comes first on sys.path and its name would
    # shadow the `allocator` package.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))
    from allocator import check, first_come_first_served, load_instance, solve

    started = time.perf_counter()
    instance = load_instance(json.loads(path.read_text()))
    loaded = time.perf_counter()
    if method == "solver":
        solution = solve(instance, time_limit_s=time_limit_s, workers=workers, seed=seed)
    else:
        solution = first_come_first_served(instance)
    solved = time.perf_counter()
    check(instance, solution)
    print(
        json.dumps(
            {
                "status": solution.status,
                "served_weight": solution.objective.served_weight,
                "walk_m": solution.objective.walk_m,
                "bound_weight": solution.bound.served_weight,
                "bound_walk_m": solution.bound.walk_m,
                "assigned": len(solution.assignments),
                "load_s": round(loaded - started, 2),
                "solve_s": round(solved - loaded, 2),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


def _measure(path: Path, method: str, time_limit_s: float, workers: int, seed: int) -> dict:
    started = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            str(path),
            "--method",
            method,
            "--time-limit",
            str(time_limit_s),
            "--workers",
            str(workers),
            "--seed",
            str(seed),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["wall_s"] = round(time.perf_counter() - started, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,10000,20000,50000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--time-limit", type=float, default=None, help="override the per-size limit"
    )
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--method", default="solver", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _run_one(args.one, args.method, args.time_limit, args.workers, args.seed)
        return
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    header = (
        "| requests | spaces | method | status | served weight | bound | gap | walk m | "
        "walk bound m | assigned | solve s | wall s | peak RSS MiB |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for size in [int(s) for s in args.sizes.split(",")]:
        night = generate_night(size, args.seed)
        path = OUT_DIR / f"night-{size}-seed{args.seed}.json"
        path.write_text(json.dumps(night))
        limit = args.time_limit or TIME_LIMIT_S.get(size, 60.0)
        solver_bound = None
        for method in ("solver", "greedy"):
            f = _measure(path, method, limit, args.workers, args.seed)
            if method == "solver":
                solver_bound = f["bound_weight"]
                bound = f"{f['bound_weight']}"
                walk_bound = f"{f['bound_walk_m']}"
            else:
                # The baseline proves nothing; its gap is measured against the solver's bound.
                bound = walk_bound = "-"
            gap = (solver_bound - f["served_weight"]) / max(1, solver_bound)
            print(
                f"| {size} | {len(night['spaces'])} | {method} | {f['status']} | "
                f"{f['served_weight']} | {bound} | {100 * gap:.3f} % | "
                f"{f['walk_m']} | {walk_bound} | {f['assigned']} | {f['solve_s']} | "
                f"{f['wall_s']} | {f['peak_rss_mib']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
