-- The nightly allocation: residents' requests for a night, and each run of the night job.

-- One row per run of the night job that got as far as deciding (or failing to decide)
-- the night's pending requests; what /metrics and operators read.
CREATE TABLE allocation_runs (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    night               date NOT NULL,
    status              text NOT NULL CHECK (status IN ('optimal', 'feasible', 'failed')),
    -- sha256 of the canonical JSON of the instance solved (FORMAT.md); NULL when the run
    -- failed before the instance was built.
    instance_sha256     text CHECK (instance_sha256 ~ '^[0-9a-f]{64}$'),
    requests            integer NOT NULL DEFAULT 0 CHECK (requests >= 0),
    spaces              integer NOT NULL DEFAULT 0 CHECK (spaces >= 0),
    served              integer NOT NULL DEFAULT 0 CHECK (served >= 0),
    not_allocated       integer NOT NULL DEFAULT 0 CHECK (not_allocated >= 0),
    served_weight       bigint CHECK (served_weight >= 0),
    walk_m              bigint CHECK (walk_m >= 0),
    bound_served_weight bigint CHECK (bound_served_weight >= 0),
    bound_walk_m        bigint CHECK (bound_walk_m >= 0),
    build_ms            integer CHECK (build_ms >= 0),
    solve_ms            integer CHECK (solve_ms >= 0),
    write_ms            integer CHECK (write_ms >= 0),
    time_limit_s        double precision NOT NULL CHECK (time_limit_s > 0),
    workers             integer NOT NULL CHECK (workers > 0),
    seed                integer NOT NULL,
    error               text,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL,
    CHECK (finished_at >= started_at),
    CHECK ((status = 'failed') = (error IS NOT NULL))
);
-- The newest runs of a night first: "has this night a completed run", and /metrics.
CREATE INDEX allocation_runs_night ON allocation_runs (night, finished_at DESC);

-- A verified resident's request for a space on one night, decided by the night job.
CREATE TABLE allocation_requests (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    vehicle_id     bigint REFERENCES vehicles (id) ON DELETE SET NULL,
    plate          text NOT NULL,
    night          date NOT NULL,
    stay           tstzrange NOT NULL
                   CHECK (NOT isempty(stay) AND NOT lower_inf(stay) AND NOT upper_inf(stay)
                          AND lower_inc(stay) AND NOT upper_inc(stay)),
    max_walk_m     integer NOT NULL CHECK (max_walk_m BETWEEN 0 AND 5000),
    max_price_fen  bigint NOT NULL CHECK (max_price_fen >= 0),
    needs          text[] NOT NULL DEFAULT '{}'
                   CHECK (needs <@ ARRAY['ev', 'large', 'accessible']::text[]),
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'allocated', 'not_allocated', 'withdrawn')),
    weight         integer CHECK (weight > 0),  -- the fairness weight the run gave it
    reservation_id bigint REFERENCES reservations (id),
    run_id         bigint REFERENCES allocation_runs (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    decided_at     timestamptz,  -- allocated, not_allocated or withdrawn
    CHECK ((status = 'allocated') = (reservation_id IS NOT NULL)),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- One request per resident and night; a withdrawn one makes room for a new one.
CREATE UNIQUE INDEX allocation_requests_one_per_night ON allocation_requests (user_id, night)
    WHERE status <> 'withdrawn';
-- The job's work list: a night's pending requests, and the nights that have some.
CREATE INDEX allocation_requests_pending ON allocation_requests (night) WHERE status = 'pending';
