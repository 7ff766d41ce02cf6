-- Verified residents and their vehicles.

-- A resident is verified when their account matches a whitelist entry; an entry
-- verifies one account only.
CREATE TABLE residencies (
    user_id      bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    whitelist_id bigint NOT NULL REFERENCES residence_whitelist (id) ON DELETE CASCADE,
    verified_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT residencies_whitelist_key UNIQUE (whitelist_id)
);

-- Plates are stored normalised (no spaces or dots, upper case, half-width); a
-- plate belongs to one resident, so a gate reading names one account.
CREATE TABLE vehicles (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plate      text NOT NULL CHECK (char_length(plate) IN (7, 8)),
    new_energy boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vehicles_plate_key UNIQUE (plate)
);
CREATE INDEX vehicles_user ON vehicles (user_id);
