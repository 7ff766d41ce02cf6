-- District platform sync: the relay's wake-up call, answers to inbound webhooks, and the
-- suspensions the platform orders.

-- The relay sleeps on LISTEN parking_outbox; a commit that queued messages wakes it, so
-- a change reaches the platform without waiting for the next poll. Per statement, not
-- per row, and delivered only at commit (a rolled-back change wakes nobody).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('parking_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- The first final answer (2xx, or a 400/404/409/422 problem) to each webhook-id the
-- platform sent, replayed to a retry of it; kept at least 24 hours, then purged.
CREATE TABLE district_inbound (
    webhook_id      text PRIMARY KEY CHECK (char_length(webhook_id) BETWEEN 1 AND 255),
    path            text NOT NULL,
    response_status smallint NOT NULL,
    response_body   jsonb,
    received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX district_inbound_received ON district_inbound (received_at);

-- A building the district closed for a period (event place.suspended). While the period
-- lasts the building is suspended (no new bookings); after it, active again. ``state``
-- says how far that has been applied, so the job that applies it does each step once.
CREATE TABLE place_suspensions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id bigint NOT NULL REFERENCES buildings (id),
    period      tstzrange NOT NULL
                CHECK (NOT isempty(period) AND NOT lower_inf(period) AND NOT upper_inf(period)),
    reason      text NOT NULL DEFAULT '',
    state       text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'in_force', 'ended')),
    -- Whether this suspension turned an active building suspended (and so reopens it):
    -- a building its manager suspended stays suspended after the period.
    closed_building boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Bookings ask whether a period covers their stay.
CREATE INDEX place_suspensions_building_period ON place_suspensions USING gist (building_id, period);
-- The job looks only at suspensions not yet ended.
CREATE INDEX place_suspensions_open ON place_suspensions (lower(period)) WHERE state <> 'ended';

-- Dead letters are listed newest first for an operator to see and replay.
CREATE INDEX outbox_dead ON outbox (id DESC) WHERE status = 'dead';
