-- Buildings that share parking, their spaces, and the residence whitelist.

CREATE TABLE buildings (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    district_place_id text NOT NULL,
    manager_id        bigint REFERENCES users (id),
    name              text NOT NULL CHECK (name <> ''),
    address           text NOT NULL DEFAULT '',
    lat               double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon               double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT buildings_district_place_id_key UNIQUE (district_place_id)
);
CREATE INDEX buildings_manager ON buildings (manager_id);

CREATE TABLE spaces (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id bigint NOT NULL REFERENCES buildings (id) ON DELETE CASCADE,
    label       text NOT NULL CHECK (label <> ''),
    level       text NOT NULL DEFAULT '',
    features    text[] NOT NULL DEFAULT '{}'
                CHECK (features <@ ARRAY['ev', 'large', 'accessible']::text[]),
    shared      boolean NOT NULL DEFAULT true,
    CONSTRAINT spaces_building_label_key UNIQUE (building_id, label)
);

-- A residential compound with its location: "near home" for a resident.
CREATE TABLE compounds (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (name <> ''),
    lat  double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon  double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    CONSTRAINT compounds_name_key UNIQUE (name)
);

-- The community office's list of who lives where; residents verify against it.
CREATE TABLE residence_whitelist (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id bigint NOT NULL REFERENCES compounds (id) ON DELETE CASCADE,
    unit        text NOT NULL CHECK (unit <> ''),
    phone       text NOT NULL CHECK (phone ~ '^[0-9]{6,15}$'),
    imported_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT residence_whitelist_entry_key UNIQUE (compound_id, unit, phone)
);
CREATE INDEX residence_whitelist_phone ON residence_whitelist (phone);
