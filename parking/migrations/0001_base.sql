-- Accounts and the outbox: what every later part of the service builds on.

-- Exclusion constraints over (space_id, tstzrange) need gist support for "=" on ids.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('resident', 'manager', 'admin')),
    display_name  text NOT NULL DEFAULT '',
    phone         text,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Per-entity version counters for messages to the district platform: a version
-- only ever grows, and the row lock taken to bump it orders concurrent changes.
CREATE TABLE entity_versions (
    entity_kind text NOT NULL,
    entity_key  text NOT NULL,
    version     bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (entity_kind, entity_key)
);

-- Written in the same transaction as the change it reports; the relay delivers it.
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      uuid NOT NULL DEFAULT gen_random_uuid(),  -- webhook-id: the same on every retry
    entity_kind     text NOT NULL CHECK (entity_kind IN ('place', 'rates', 'availability', 'reservation')),
    entity_key      text NOT NULL,
    version         bigint NOT NULL CHECK (version > 0),
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'dead', 'superseded')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    CONSTRAINT outbox_message_id_key UNIQUE (message_id),
    CONSTRAINT outbox_entity_version_key UNIQUE (entity_kind, entity_key, version)
);
-- The relay scans only what is still to send, oldest due first.
CREATE INDEX outbox_pending_due ON outbox (next_attempt_at, id) WHERE status = 'pending';
-- Coalescing looks up the newest pending message of one entity.
CREATE INDEX outbox_pending_entity ON outbox (entity_kind, entity_key, version DESC)
    WHERE status = 'pending';
