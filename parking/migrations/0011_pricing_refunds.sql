-- An admin may refund a booking's charge in several parts (never more than the charge,
-- which the service checks under the charge's row lock). The index of 0007 allowed one
-- refund per charge and reservation, which is right only for the refund of a pass night
-- the operator cancelled (written by the event itself, created_by NULL): a second
-- partial admin refund of a per-use, no-show or late-cancellation charge was refused.
DROP INDEX charges_refund_once_per_night;
CREATE UNIQUE INDEX charges_refund_once_per_night ON charges (refund_of, reservation_id)
    WHERE kind = 'refund' AND reservation_id IS NOT NULL AND created_by IS NULL;
