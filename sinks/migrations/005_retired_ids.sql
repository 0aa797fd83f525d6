-- 005: ids a company dropped stay that company's, durably.
--
-- A stream, meter or need id that a company dropped must never be registered by another company:
-- its stored readings, ledger, alerts and webhook events would then reach the newcomer. The
-- registry topics cannot remember this (a compacted topic forgets a tombstone after
-- delete.retention.ms, and with it whose id it was), so the API writes each retirement here and
-- reads them all back when it starts. Same DDL on both engines (a small table).
CREATE TABLE retired_ids (
    kind       text        NOT NULL CHECK (kind IN ('stream', 'meter', 'need')),
    id         text        NOT NULL,
    company    text        NOT NULL,
    retired_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);
