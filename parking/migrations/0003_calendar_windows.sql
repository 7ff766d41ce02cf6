-- When buildings share: China's holiday calendar, weekly off-peak rules, blackouts.

-- A year is known only once its official calendar is entered; an unknown year is
-- an explicit error for rules that depend on working days or rest days.
CREATE TABLE calendar_years (
    year       integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    source     text NOT NULL CHECK (source IN ('package', 'admin')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Exceptions to "Monday to Friday work, weekends rest": public holidays, and the
-- weekend days that are working days in exchange (调休).
CREATE TABLE calendar_days (
    day    date PRIMARY KEY,
    kind   text NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name   text NOT NULL DEFAULT '',
    source text NOT NULL CHECK (source IN ('package', 'admin'))
);

-- A weekly rule: on the nights it applies to, spaces are shared from start_time to
-- end_time (local); an end at or before the start falls on the next day.
CREATE TABLE off_peak_rules (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id bigint NOT NULL REFERENCES buildings (id) ON DELETE CASCADE,
    day_class   text NOT NULL DEFAULT 'every_day'
                CHECK (day_class IN ('every_day', 'working_days', 'rest_days')),
    weekdays    smallint[] NOT NULL DEFAULT '{1,2,3,4,5,6,7}'
                CHECK (cardinality(weekdays) > 0 AND weekdays <@ '{1,2,3,4,5,6,7}'::smallint[]),
    start_time  time NOT NULL,
    end_time    time NOT NULL,
    valid_from  date NOT NULL,
    valid_until date,  -- the last night the rule applies to; NULL: open-ended
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX off_peak_rules_building ON off_peak_rules (building_id);

-- The building needs its spaces: no sharing during the period.
CREATE TABLE blackouts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id bigint NOT NULL REFERENCES buildings (id) ON DELETE CASCADE,
    period      tstzrange NOT NULL
                CHECK (NOT isempty(period) AND NOT lower_inf(period) AND NOT upper_inf(period)
                       AND lower_inc(period) AND NOT upper_inc(period)),
    reason      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blackouts_building_period ON blackouts USING gist (building_id, period);
