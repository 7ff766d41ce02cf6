-- The worker's schedule: one row per recurring job, shared by every worker process.
-- A worker runs a job only while it holds the job's advisory lock and the row says the
-- job is due; it then moves next_run_at on, so N workers run a job once per interval,
-- not N times.
CREATE TABLE worker_jobs (
    name             text PRIMARY KEY,
    next_run_at      timestamptz NOT NULL DEFAULT now(),
    last_started_at  timestamptz,
    last_finished_at timestamptz,
    last_worker      text,   -- host:pid of the worker that ran it last
    last_result      text,   -- what the job reported (counts), or NULL
    last_error       text,   -- the failure of the last run, NULL when it succeeded
    runs             bigint NOT NULL DEFAULT 0 CHECK (runs >= 0),
    failures         bigint NOT NULL DEFAULT 0 CHECK (failures >= 0)
);
