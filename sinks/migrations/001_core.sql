-- 001: readings, ledger history and alerts.
-- Works on plain PostgreSQL 15; when the timescaledb extension is present the three tables
-- become hypertables (1-day chunks for readings, 7-day for ledger and alerts).
-- Idempotency: every table has a natural unique key that includes its time column, so a
-- replayed Kafka batch is inserted with ON CONFLICT DO NOTHING and stored exactly once.

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
CREATE INDEX readings_stream_ts ON readings (stream, ts DESC);

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
CREATE INDEX alerts_pair ON alerts (stream, need, ts DESC);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        PERFORM create_hypertable('readings', 'ts', chunk_time_interval => interval '1 day');
        PERFORM create_hypertable('ledger', 'updated_at', chunk_time_interval => interval '7 days');
        PERFORM create_hypertable('alerts', 'ts', chunk_time_interval => interval '7 days');
    END IF;
END
$$;
