-- Price plan versions per building, and the append-only ledger of charges.

-- One immutable row per version. Only withdrawn_at may ever be set, once, on a version
-- that has not taken effect (the service checks the date; the trigger keeps the rest).
CREATE TABLE price_plans (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id            bigint NOT NULL REFERENCES buildings (id),
    version                integer NOT NULL CHECK (version >= 1),
    mode                   text NOT NULL CHECK (mode IN ('monthly', 'per_use')),
    per_use_fee_fen        bigint CHECK (per_use_fee_fen >= 0),
    monthly_fee_fen        bigint CHECK (monthly_fee_fen >= 0),
    overstay_fen_per_hour  bigint NOT NULL DEFAULT 0 CHECK (overstay_fen_per_hour >= 0),
    overstay_grace_minutes integer NOT NULL DEFAULT 0 CHECK (overstay_grace_minutes >= 0),
    no_show_fee_fen        bigint NOT NULL DEFAULT 0 CHECK (no_show_fee_fen >= 0),
    free_cancel_minutes    integer NOT NULL DEFAULT 0 CHECK (free_cancel_minutes >= 0),
    late_cancel_fee_fen    bigint NOT NULL DEFAULT 0 CHECK (late_cancel_fee_fen >= 0),
    effective_from         date NOT NULL,  -- the first local night it prices
    created_by             bigint REFERENCES users (id),  -- NULL: migrated or seeded
    created_at             timestamptz NOT NULL DEFAULT now(),
    withdrawn_at           timestamptz,
    CONSTRAINT price_plans_building_version_key UNIQUE (building_id, version),
    CHECK (mode <> 'per_use' OR per_use_fee_fen IS NOT NULL),
    CHECK (mode <> 'monthly' OR monthly_fee_fen IS NOT NULL)
);

CREATE FUNCTION price_plans_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.withdrawn_at IS NULL AND NEW.withdrawn_at IS NOT NULL
       AND to_jsonb(NEW) - 'withdrawn_at' = to_jsonb(OLD) - 'withdrawn_at' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'price plan versions are immutable: add a version or withdraw one'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER price_plans_immutable BEFORE UPDATE OR DELETE ON price_plans
    FOR EACH ROW EXECUTE FUNCTION price_plans_immutable();

-- Every building's interim columns become its version 1, in force from a date before
-- any night the service has priced, so no night changes price by the move.
INSERT INTO price_plans (building_id, version, mode, per_use_fee_fen, monthly_fee_fen,
                         effective_from)
SELECT id, 1, CASE WHEN monthly_pass_fen IS NULL THEN 'per_use' ELSE 'monthly' END,
       flat_fee_fen, monthly_pass_fen, DATE '2000-01-01'
FROM buildings;

-- The interim columns are deprecated: no code reads them. They stay, with their default
-- (1000 fen per use), only so that a writer of raw SQL (seeds, benchmarks) keeps working
-- as before: fees on INSERT, given or by default, become the new building's version 1
-- (in force since 2000) and the columns are cleared, so they never hold a price that
-- could go stale. Both NULL: no plan is made (the API writes NULLs and makes version 1
-- itself).
ALTER TABLE buildings DROP CONSTRAINT buildings_sells_something;
UPDATE buildings SET flat_fee_fen = NULL, monthly_pass_fen = NULL;
COMMENT ON COLUMN buildings.flat_fee_fen IS 'Deprecated: written on INSERT only; see price_plans';
COMMENT ON COLUMN buildings.monthly_pass_fen IS 'Deprecated: written on INSERT only; see price_plans';

CREATE FUNCTION buildings_interim_fees() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.flat_fee_fen IS NOT NULL OR NEW.monthly_pass_fen IS NOT NULL THEN
        INSERT INTO price_plans (building_id, version, mode, per_use_fee_fen, monthly_fee_fen,
                                 effective_from)
        VALUES (NEW.id, 1,
                CASE WHEN NEW.monthly_pass_fen IS NULL THEN 'per_use' ELSE 'monthly' END,
                NEW.flat_fee_fen, NEW.monthly_pass_fen, DATE '2000-01-01');
        UPDATE buildings SET flat_fee_fen = NULL, monthly_pass_fen = NULL WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER buildings_interim_fees AFTER INSERT ON buildings
    FOR EACH ROW EXECUTE FUNCTION buildings_interim_fees();

CREATE FUNCTION buildings_refuse_interim_fees() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a building''s fees are price plan versions: add a version instead'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER buildings_refuse_interim_fees BEFORE UPDATE OF flat_fee_fen, monthly_pass_fen
    ON buildings FOR EACH ROW
    WHEN (NEW.flat_fee_fen IS NOT NULL OR NEW.monthly_pass_fen IS NOT NULL)
    EXECUTE FUNCTION buildings_refuse_interim_fees();

-- The version that priced a booking or a pass, so its later charges (no-show, late
-- cancellation, overstay) follow the terms it was sold under. NULL: rows written before
-- this migration or by a writer that priced nothing; the plan in force that night applies.
ALTER TABLE reservations ADD COLUMN plan_id bigint REFERENCES price_plans (id);
ALTER TABLE passes ADD COLUMN plan_id bigint REFERENCES price_plans (id);

-- The ledger. Each row is tied to exactly one reservation, pass or gate session; never
-- negative except a refund, which is negative and names the charge it corrects.
CREATE TABLE charges (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL
                   CHECK (kind IN ('per_use', 'no_show', 'overstay', 'late_cancel', 'pass', 'refund')),
    amount_fen     bigint NOT NULL,
    user_id        bigint REFERENCES users (id),  -- NULL: a platform booking's driver
    building_id    bigint NOT NULL REFERENCES buildings (id),
    reservation_id bigint REFERENCES reservations (id),
    pass_id        bigint REFERENCES passes (id),
    session_id     bigint REFERENCES gate_sessions (id),
    refund_of      bigint REFERENCES charges (id),
    plan_id        bigint REFERENCES price_plans (id),
    plan_version   integer,
    night          date,
    occurred_at    timestamptz NOT NULL,
    created_by     bigint REFERENCES users (id),  -- a refund's admin; NULL: the event itself
    reason         text,
    CHECK (CASE WHEN kind = 'refund' THEN amount_fen < 0 ELSE amount_fen >= 0 END),
    CHECK (num_nonnulls(reservation_id, pass_id, session_id) = 1),
    CHECK ((kind = 'refund') = (refund_of IS NOT NULL)),
    CHECK (kind <> 'pass' OR pass_id IS NOT NULL),
    CHECK (kind NOT IN ('per_use', 'no_show', 'late_cancel') OR reservation_id IS NOT NULL),
    CHECK (kind <> 'overstay' OR session_id IS NOT NULL)
);
-- The same event never charges twice: one charge of a kind per reservation, pass or session.
CREATE UNIQUE INDEX charges_once_per_reservation ON charges (reservation_id, kind)
    WHERE reservation_id IS NOT NULL AND kind <> 'refund';
CREATE UNIQUE INDEX charges_once_per_pass ON charges (pass_id, kind)
    WHERE pass_id IS NOT NULL AND kind <> 'refund';
CREATE UNIQUE INDEX charges_once_per_session ON charges (session_id, kind)
    WHERE session_id IS NOT NULL AND kind <> 'refund';
-- A pass night cancelled by the operator is refunded once.
CREATE UNIQUE INDEX charges_refund_once_per_night ON charges (refund_of, reservation_id)
    WHERE kind = 'refund' AND reservation_id IS NOT NULL;
CREATE INDEX charges_user_occurred ON charges (user_id, occurred_at);
CREATE INDEX charges_building_occurred ON charges (building_id, occurred_at);
CREATE INDEX charges_refund_of ON charges (refund_of) WHERE refund_of IS NOT NULL;

CREATE FUNCTION charges_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'charges are append-only: correct a charge with a refund row'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- Rows only; TRUNCATE (emptying a scratch database, as the benchmarks do) stays an
-- owner's operation.
CREATE TRIGGER charges_append_only BEFORE UPDATE OR DELETE ON charges
    FOR EACH ROW EXECUTE FUNCTION charges_append_only();

-- Plan versions whose taking effect the platform has been sent a Rates message for
-- (the rates sweep), so each is announced once however many workers sweep.
CREATE TABLE rates_announcements (
    plan_id      bigint PRIMARY KEY REFERENCES price_plans (id),
    announced_at timestamptz NOT NULL DEFAULT now()
);
