-- 003: availability aggregates of the ledger, the same names and columns on both engines.
--
--   availability_15m, availability_1h   per stream and bucket: bucket, stream, site, kind, unit,
--       avg_available, min_available, max_available, avg_measured, and samples = the number of
--       ledger entries aggregated (one per readings batch of the stream).
--   availability_by_kind_15m, availability_by_kind_1h   per kind and unit: bucket, kind, unit,
--       streams (streams with entries in the bucket), total_available and total_measured (the
--       sum over those streams of their average: the kind's average total surplus), samples.
--
-- Both are "materialized only": a bucket shows what the last refresh saw. Both are computed
-- from the ledger, not 1h from 15m: on the test engine a continuous aggregate built on another
-- one picked up its parent's changes only one policy run later, and an average of averages
-- differs from the average in the last bits.
-- Buckets are aligned to UTC (time_bucket and date_bin with origin 2000-01-01 agree for 15 min
-- and 1 h). Aggregates have no retention: they outlive the ledger's 400 days (a few rows per
-- stream and hour). The per-kind views are plain views over the per-stream aggregates, because
-- the kind's total is an aggregate of per-stream aggregates (sum of averages), which one
-- continuous aggregate cannot express; they scan streams x buckets rows, not the ledger.
--
-- TimescaleDB: continuous aggregates (time_bucket), refreshed by policies: 15m every 5 minutes,
-- 1h every 15 minutes, each over the last 3 days (start_offset; late ledger rows older than
-- that need a manual refresh_continuous_aggregate) up to now (end_offset NULL: the current
-- bucket is materialized as far as it goes and re-materialized when it changes).
--
-- Plain PostgreSQL: ordinary tables of the same names and columns (not MATERIALIZED VIEWs: a
-- REFRESH recomputes everything from the retained ledger, so its cost grows with a year of
-- ledger, and dropping expired ledger partitions would erase the aggregates' history, unlike
-- TimescaleDB). Statement triggers on the ledger log the time range every insert, update or
-- delete touched (availability_invalidations, as TimescaleDB's invalidation log does);
-- symbiosis_refresh_pending_aggregates() recomputes just the logged hours, and
-- symbiosis_refresh_aggregates(from, to) recomputes a window (like refresh_continuous_aggregate).
-- sinks/maintenance.py runs the pending refresh periodically. TRUNCATE is not logged.

-- Plain PostgreSQL: log the [min, max] time of the ledger rows a statement changed.
CREATE FUNCTION symbiosis_ledger_invalidate()
RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO availability_invalidations (lo, hi)
        SELECT min(updated_at), max(updated_at)
        FROM (SELECT updated_at FROM old_rows UNION ALL SELECT updated_at FROM new_rows) u
        HAVING count(*) > 0;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO availability_invalidations (lo, hi)
        SELECT min(updated_at), max(updated_at) FROM new_rows HAVING count(*) > 0;
    ELSE
        INSERT INTO availability_invalidations (lo, hi)
        SELECT min(updated_at), max(updated_at) FROM old_rows HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$$;

-- Plain PostgreSQL: recompute every 15-minute and 1-hour bucket touching [p_from, p_to)
-- (the window is widened to whole hours) from the ledger. One transaction: readers see the old
-- or the new buckets, never a mix. Concurrent refreshes are serialised.
CREATE FUNCTION symbiosis_refresh_aggregates(p_from timestamptz, p_to timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    origin constant timestamptz := timestamptz '2000-01-01 00:00:00+00';
    lo timestamptz;
    hi timestamptz;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RAISE EXCEPTION 'on TimescaleDB use refresh_continuous_aggregate'
            USING ERRCODE = 'wrong_object_type';
    END IF;
    IF p_from >= p_to THEN
        RETURN;
    END IF;
    lo := date_bin(interval '1 hour', p_from, origin);
    hi := date_bin(interval '1 hour', p_to, origin);
    IF hi < p_to THEN
        hi := hi + interval '1 hour';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('symbiosis_refresh_aggregates'));
    DELETE FROM availability_15m WHERE bucket >= lo AND bucket < hi;
    INSERT INTO availability_15m
    SELECT date_bin(interval '15 minutes', updated_at, origin), stream, site, kind, unit,
           avg(available), min(available), max(available), avg(measured), count(*)
    FROM ledger
    WHERE updated_at >= lo AND updated_at < hi
    GROUP BY 1, 2, 3, 4, 5;
    DELETE FROM availability_1h WHERE bucket >= lo AND bucket < hi;
    INSERT INTO availability_1h
    SELECT date_bin(interval '1 hour', updated_at, origin), stream, site, kind, unit,
           avg(available), min(available), max(available), avg(measured), count(*)
    FROM ledger
    WHERE updated_at >= lo AND updated_at < hi
    GROUP BY 1, 2, 3, 4, 5;
END
$$;

-- Plain PostgreSQL: consume the invalidation log, merge its ranges (widened to whole hours)
-- and recompute them. Ranges ending before p_horizon are discarded: their ledger partitions
-- may be gone, and recomputing them would erase aggregates. Returns the ranges recomputed.
CREATE FUNCTION symbiosis_refresh_pending_aggregates(p_horizon timestamptz DEFAULT '-infinity')
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    origin constant timestamptz := timestamptz '2000-01-01 00:00:00+00';
    los timestamptz[];
    his timestamptz[];
    i   integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('symbiosis_refresh_aggregates'));
    WITH taken AS (
        DELETE FROM availability_invalidations RETURNING lo, hi
    ), aligned AS (
        SELECT date_bin(interval '1 hour', greatest(lo, p_horizon), origin) AS lo,
               date_bin(interval '1 hour', hi, origin) + interval '1 hour' AS hi
        FROM taken
        WHERE hi >= p_horizon
    ), marked AS (
        SELECT lo, hi,
               CASE WHEN lo <= max(hi) OVER (ORDER BY lo, hi ROWS BETWEEN UNBOUNDED PRECEDING
                                                          AND 1 PRECEDING)
                    THEN 0 ELSE 1 END AS starts
        FROM aligned
    ), grouped AS (
        SELECT lo, hi, sum(starts) OVER (ORDER BY lo, hi) AS g FROM marked
    ), merged AS (
        SELECT min(lo) AS lo, max(hi) AS hi FROM grouped GROUP BY g
    )
    SELECT array_agg(lo ORDER BY lo), array_agg(hi ORDER BY lo) INTO los, his FROM merged;
    IF los IS NULL THEN
        RETURN 0;
    END IF;
    FOR i IN 1 .. cardinality(los) LOOP
        PERFORM symbiosis_refresh_aggregates(los[i], his[i]);
    END LOOP;
    RETURN cardinality(los);
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        CREATE MATERIALIZED VIEW availability_15m
        WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
        SELECT time_bucket(interval '15 minutes', updated_at) AS bucket, stream, site, kind, unit,
               avg(available) AS avg_available, min(available) AS min_available,
               max(available) AS max_available, avg(measured) AS avg_measured,
               count(*) AS samples
        FROM ledger
        GROUP BY 1, 2, 3, 4, 5
        WITH NO DATA;
        CREATE MATERIALIZED VIEW availability_1h
        WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
        SELECT time_bucket(interval '1 hour', updated_at) AS bucket, stream, site, kind, unit,
               avg(available) AS avg_available, min(available) AS min_available,
               max(available) AS max_available, avg(measured) AS avg_measured,
               count(*) AS samples
        FROM ledger
        GROUP BY 1, 2, 3, 4, 5
        WITH NO DATA;
        PERFORM add_continuous_aggregate_policy('availability_15m',
            start_offset => interval '3 days', end_offset => NULL,
            schedule_interval => interval '5 minutes');
        PERFORM add_continuous_aggregate_policy('availability_1h',
            start_offset => interval '3 days', end_offset => NULL,
            schedule_interval => interval '15 minutes');
    ELSE
        CREATE TABLE availability_15m (
            bucket        timestamptz      NOT NULL,
            stream        text             NOT NULL,
            site          text             NOT NULL,
            kind          text             NOT NULL,
            unit          text             NOT NULL,
            avg_available double precision NOT NULL,
            min_available double precision NOT NULL,
            max_available double precision NOT NULL,
            avg_measured  double precision NOT NULL,
            samples       bigint           NOT NULL,
            PRIMARY KEY (stream, bucket, site, kind, unit)
        );
        CREATE INDEX availability_15m_bucket ON availability_15m (bucket);
        CREATE TABLE availability_1h (LIKE availability_15m INCLUDING ALL);
        CREATE TABLE availability_invalidations (
            lo timestamptz NOT NULL,
            hi timestamptz NOT NULL
        );
        CREATE TRIGGER ledger_invalidate_insert AFTER INSERT ON ledger
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION symbiosis_ledger_invalidate();
        CREATE TRIGGER ledger_invalidate_update AFTER UPDATE ON ledger
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION symbiosis_ledger_invalidate();
        CREATE TRIGGER ledger_invalidate_delete AFTER DELETE ON ledger
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION symbiosis_ledger_invalidate();
    END IF;
END
$$;

CREATE VIEW availability_by_kind_15m AS
SELECT bucket, kind, unit,
       count(*) AS streams,
       sum(avg_available) AS total_available,
       sum(avg_measured) AS total_measured,
       sum(samples)::bigint AS samples
FROM availability_15m
GROUP BY bucket, kind, unit;

CREATE VIEW availability_by_kind_1h AS
SELECT bucket, kind, unit,
       count(*) AS streams,
       sum(avg_available) AS total_available,
       sum(avg_measured) AS total_measured,
       sum(samples)::bigint AS samples
FROM availability_1h
GROUP BY bucket, kind, unit;
