-- Every token names the generation of its account's credentials it was issued under.
-- Deactivating an account or setting a new password moves the generation on, so every
-- token issued before stops working at once, not when it expires.
ALTER TABLE users ADD COLUMN token_generation integer NOT NULL DEFAULT 0
    CHECK (token_generation >= 0);
