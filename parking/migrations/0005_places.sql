-- What search and the gate need of a building.

ALTER TABLE buildings
    -- Interim prices until price plans are stored: a flat per-use fee, and the
    -- monthly pass fee (NULL: the building sells no passes).
    ADD COLUMN flat_fee_fen bigint NOT NULL DEFAULT 1000 CHECK (flat_fee_fen >= 0),
    ADD COLUMN monthly_pass_fen bigint CHECK (monthly_pass_fen >= 0),
    -- Hash of the per-building gate key (the gate's credential); NULL: none issued.
    ADD COLUMN gate_key_hash text;

-- Search finds buildings near a point with a bounding box on this index.
CREATE INDEX buildings_location ON buildings USING gist (point(lon, lat));
CREATE INDEX spaces_building_shared ON spaces (building_id) WHERE shared;
