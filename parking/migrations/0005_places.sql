-- What search and the gate need of a building.

ALTER TABLE buildings
    -- Interim prices until price plans are stored: a flat per-use fee (NULL: no
    -- single nights are sold), and the monthly pass fee (NULL: no passes are sold,
    -- otherwise the building is in monthly mode).
    ADD COLUMN flat_fee_fen bigint DEFAULT 1000 CHECK (flat_fee_fen >= 0),
    ADD COLUMN monthly_pass_fen bigint CHECK (monthly_pass_fen >= 0),
    ADD CONSTRAINT buildings_sells_something
        CHECK (flat_fee_fen IS NOT NULL OR monthly_pass_fen IS NOT NULL),
    -- Hash of the per-building gate key (the gate's credential); NULL: none issued.
    ADD COLUMN gate_key_hash text;

-- Search finds buildings near a point with a bounding box on this index.
CREATE INDEX buildings_location ON buildings USING gist (point(lon, lat));
CREATE INDEX spaces_building_shared ON spaces (building_id) WHERE shared;
