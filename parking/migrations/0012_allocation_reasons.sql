-- Why a request ended not_allocated, so fairness counts only real refusals.
--   refused:   it went to the allocation and was not placed (no space fit, or it lost its
--              space to a change committed while the solver ran);
--   set_aside: the night job never put it to the allocation (resident no longer verified,
--              vehicle removed, car already held elsewhere over the stay, stay ended).
ALTER TABLE allocation_requests
    ADD COLUMN not_allocated_reason text
        CHECK (not_allocated_reason IN ('refused', 'set_aside'));

-- Rows decided before the reason was kept cannot be told apart; they stay refusals, as
-- fairness counted them.
UPDATE allocation_requests SET not_allocated_reason = 'refused' WHERE status = 'not_allocated';

ALTER TABLE allocation_requests
    ADD CONSTRAINT allocation_requests_reason_iff_not_allocated
        CHECK ((status = 'not_allocated') = (not_allocated_reason IS NOT NULL));
