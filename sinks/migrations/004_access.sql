-- 004: tenants' API tokens and ERP offers. Same DDL on both engines (small tables, no time
-- partitioning).

-- Per-company API tokens. Only a SHA-256 of each token is stored: tokens are 256-bit random
-- strings, so a fast hash is enough (no dictionary to attack); the token itself is shown once,
-- when issued. role 'operator' sees and may do everything; 'company' is scoped to its company.
CREATE TABLE api_tokens (
    token_sha256 text        PRIMARY KEY CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    prefix       text        NOT NULL,            -- first characters, to name a token safely
    company      text,
    role         text        NOT NULL CHECK (role IN ('company', 'operator')),
    label        text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CHECK ((role = 'company') = (company IS NOT NULL))
);

-- Declared surplus from ERP exports (symbiosis import), one row per offer id; a replayed
-- record is skipped (ON CONFLICT DO NOTHING), like every other table.
CREATE TABLE offers (
    id              text             PRIMARY KEY,
    site            text             NOT NULL,
    stream          text,
    kind            text,
    description     text             NOT NULL,
    ewc             text,
    quantity        double precision NOT NULL,
    unit            text             NOT NULL,
    available_from  timestamptz,
    available_until timestamptz,
    source          text             NOT NULL,
    payload         jsonb            NOT NULL,
    stored_at       timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX offers_site ON offers (site);
