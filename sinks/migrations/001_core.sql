-- 001: readings, ledger history and alerts: columns and natural keys, the same on both engines.
-- The storage layout (hypertables on TimescaleDB, range partitions on plain PostgreSQL 15),
-- indexes, compression and retention are 002_storage.sql; availability aggregates 003.
-- Idempotency: every table has a natural unique key that includes its time column (required
-- for a unique key on a hypertable or a partitioned table), so a replayed Kafka batch is
-- inserted with ON CONFLICT DO NOTHING and stored exactly once.

CREATE TABLE readings (
    meter    text             NOT NULL,
    ts       timestamptz      NOT NULL,
    stream   text             NOT NULL,
    value    double precision NOT NULL,
    unit     text             NOT NULL,
    quality  text             NOT NULL,
    batch_id text             NOT NULL,
    PRIMARY KEY (meter, ts)
);

CREATE TABLE ledger (
    stream          text             NOT NULL,
    updated_at      timestamptz      NOT NULL,
    site            text             NOT NULL,
    kind            text             NOT NULL,
    unit            text             NOT NULL,
    window_s        double precision NOT NULL,
    measured        double precision NOT NULL,
    committed       double precision NOT NULL,
    available       double precision NOT NULL,
    steadiness      double precision NOT NULL,
    samples         integer          NOT NULL,
    available_since timestamptz,
    PRIMARY KEY (stream, updated_at)
);

CREATE TABLE alerts (
    ts              timestamptz      NOT NULL,
    idempotency_key text             NOT NULL,
    alert_id        text             NOT NULL,
    event           text             NOT NULL,
    stream          text             NOT NULL,
    need            text             NOT NULL,
    kind            text             NOT NULL,
    available       double precision NOT NULL,
    unit            text             NOT NULL,
    quantity        double precision NOT NULL,
    need_unit       text             NOT NULL,
    distance_km     double precision NOT NULL,
    co2e_t_per_yr   double precision NOT NULL,
    payload         jsonb            NOT NULL,
    PRIMARY KEY (idempotency_key, ts)
);
