-- Reservations, monthly passes, idempotency keys and gate sessions.

-- A monthly pass: a resident's vehicle has a space every shared night of the month.
CREATE TABLE passes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    vehicle_id  bigint REFERENCES vehicles (id) ON DELETE SET NULL,
    plate       text NOT NULL,
    building_id bigint NOT NULL REFERENCES buildings (id),
    month       date NOT NULL CHECK (extract(day FROM month) = 1),
    price_fen   bigint NOT NULL CHECK (price_fen >= 0),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX passes_plate_building_month ON passes (plate, building_id, month)
    WHERE status = 'active';

-- Every claim on a space for a time: bookings and each night of a pass alike, so
-- one exclusion constraint keeps them all apart.
CREATE TABLE reservations (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                    text NOT NULL DEFAULT 'booking' CHECK (kind IN ('booking', 'pass_night')),
    pass_id                 bigint REFERENCES passes (id),
    user_id                 bigint REFERENCES users (id),  -- NULL: booked on the district platform
    vehicle_id              bigint REFERENCES vehicles (id) ON DELETE SET NULL,
    plate                   text NOT NULL,
    building_id             bigint NOT NULL REFERENCES buildings (id),
    space_id                bigint NOT NULL REFERENCES spaces (id),
    night                   date NOT NULL,
    stay                    tstzrange NOT NULL
                            CHECK (NOT isempty(stay) AND NOT lower_inf(stay) AND NOT upper_inf(stay)
                                   AND lower_inc(stay) AND NOT upper_inc(stay)),
    status                  text NOT NULL CHECK (status IN ('held', 'confirmed', 'cancelled',
                            'checked_in', 'completed', 'no_show', 'expired', 'released')),
    hold_expires_at         timestamptz,
    source                  text NOT NULL DEFAULT 'app'
                            CHECK (source IN ('app', 'platform', 'allocation', 'pass')),
    platform_reservation_id text,
    fee_fen                 bigint NOT NULL DEFAULT 0 CHECK (fee_fen >= 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    checked_in_at           timestamptz,
    ended_at                timestamptz,
    CHECK ((kind = 'pass_night') = (pass_id IS NOT NULL)),
    CHECK (status <> 'held' OR hold_expires_at IS NOT NULL),
    CONSTRAINT reservations_platform_id_key UNIQUE (platform_reservation_id),
    -- No double booking: two active claims on one space never overlap in time.
    CONSTRAINT reservations_space_no_overlap EXCLUDE USING gist (space_id WITH =, stay WITH &&)
        WHERE (status IN ('held', 'confirmed', 'checked_in')),
    -- A car is in one place at a time.
    CONSTRAINT reservations_plate_no_overlap EXCLUDE USING gist (plate WITH =, stay WITH &&)
        WHERE (status IN ('held', 'confirmed', 'checked_in'))
);
CREATE INDEX reservations_user_night ON reservations (user_id, night);
CREATE INDEX reservations_building_night ON reservations (building_id, night);
CREATE INDEX reservations_pass ON reservations (pass_id) WHERE pass_id IS NOT NULL;
-- Free counts: a building's active claims overlapping an interval, in one probe.
CREATE INDEX reservations_building_active ON reservations USING gist (building_id, stay)
    WHERE status IN ('held', 'confirmed', 'checked_in');
-- A vehicle's removal checks for, and detaches, the reservations that name it.
CREATE INDEX reservations_vehicle ON reservations (vehicle_id) WHERE vehicle_id IS NOT NULL;
-- The sweeps look only at what may need to change.
CREATE INDEX reservations_held_expiry ON reservations (hold_expires_at) WHERE status = 'held';
CREATE INDEX reservations_confirmed_start ON reservations (lower(stay)) WHERE status = 'confirmed';

-- The first answer to a (user, Idempotency-Key), replayed for the same request.
CREATE TABLE idempotency_keys (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key             text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash    text NOT NULL,
    response_status smallint NOT NULL,
    response_body   jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- A car's stay at a building's gate, with the reservation it used, if any.
CREATE TABLE gate_sessions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id    bigint NOT NULL REFERENCES buildings (id),
    plate          text NOT NULL,
    entered_at     timestamptz NOT NULL,
    exited_at      timestamptz,
    reservation_id bigint REFERENCES reservations (id),
    source         text NOT NULL DEFAULT 'gate' CHECK (source IN ('gate', 'platform')),
    CHECK (exited_at IS NULL OR exited_at >= entered_at)
);
-- One open session per car and building.
CREATE UNIQUE INDEX gate_sessions_open ON gate_sessions (building_id, plate) WHERE exited_at IS NULL;
CREATE INDEX gate_sessions_building_entered ON gate_sessions (building_id, entered_at);
