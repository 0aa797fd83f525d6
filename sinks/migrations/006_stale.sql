-- 006: a ledger row says whether its stream was stale (no good reading for the worker's
-- stale_after_s: it counts zero surplus then). Same DDL on both engines: a constant default
-- is a catalogue change (no table rewrite), on compressed TimescaleDB chunks too.
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS stale boolean NOT NULL DEFAULT false;
