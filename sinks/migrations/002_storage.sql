-- 002: storage layout of readings, ledger and alerts, on TimescaleDB or plain PostgreSQL 15.
--
-- TimescaleDB (the extension is installed in this database): hypertables, compression and
-- retention policies; its background workers run them. Plain PostgreSQL 15: declarative range
-- partitions on the time column with a DEFAULT partition, BRIN indexes, and SQL functions that
-- sinks/maintenance.py runs periodically (ensure partitions ahead, drain the DEFAULT partition,
-- drop expired partitions). Both engines get the same tables, keys and indexes, so the same
-- queries and the same INSERT ... ON CONFLICT work on both.
--
-- The migration also upgrades databases made by the first version of 001 (plain tables, and
-- hypertables with 1-day/7-day chunks): plain tables are rebuilt as partitioned tables (rows
-- kept); hypertables get the chunk intervals below for their next chunks.

-- One row per table: the choices below, read by this migration and by sinks/maintenance.py.
-- Sizing: a TEDA-sized park is 20,000 meters at 1 Hz = 20,000 readings/s = 72 M rows/hour =
-- 1.7 billion rows/day. A reading row is about 110 bytes of heap plus about 40 bytes in each
-- of its two btrees ((meter, ts) and (stream, ts)): about 14 GB/hour, 330 GB/day uncompressed.
CREATE TABLE storage_policies (
    table_name         text     PRIMARY KEY,
    time_column        text     NOT NULL,
    -- TimescaleDB chunk_time_interval (this migration applies it; change it later with
    -- set_chunk_time_interval(), which affects new chunks only, and update this row).
    chunk_interval     interval NOT NULL,
    -- Plain PostgreSQL: one range partition per interval, aligned to UTC (days: midnight UTC;
    -- months: the 1st, 00:00 UTC).
    partition_interval interval NOT NULL,
    -- Plain PostgreSQL: partitions kept created ahead of now(), so the sink's inserts never
    -- wait for DDL and rarely land in the DEFAULT partition.
    premake            interval NOT NULL,
    -- TimescaleDB: chunks whose end is older than this are compressed (policy).
    compress_after     interval NOT NULL,
    -- Both engines: chunks / partitions whose end is older than this are dropped.
    drop_after         interval NOT NULL
);

INSERT INTO storage_policies VALUES
    -- readings: 1-hour chunks. A 1-day chunk at TEDA rate (330 GB) is far beyond the usual
    -- rule that the chunk being written and read, indexes included, fits in about a quarter of
    -- the database's memory, and it could only be compressed as a whole a day later. One hour
    -- (about 14 GB, 6 GB of it btree) fits that rule on a 64 GB host; inserts only touch the
    -- right edge of each meter's key range, so the hot set is far smaller. An hour holds 3,600
    -- rows per meter, so compressed batches (1,000 rows) are full; 90 days of retention is
    -- 2,160 chunks, which chunk exclusion prunes at plan time. Small parks get small hourly
    -- chunks, which is harmless.
    -- Plain PostgreSQL: daily partitions (about 90 under retention; PostgreSQL's planner and
    -- locking get slower with thousands of partitions). Plain PostgreSQL is the engine for
    -- small parks and development: at TEDA rate a day is 330 GB uncompressed, and 90 days of it
    -- need TimescaleDB's compression.
    -- Compression after 2 days: the sink's replays are minutes old and historian
    -- store-and-forward backfill is usually hours old; both still hit uncompressed chunks,
    -- where ON CONFLICT is an index probe. Older late rows are still accepted (TimescaleDB
    -- decompresses the affected batch), only more slowly. Retention 90 days: raw meter data
    -- is for recent diagnostics; history lives in the ledger and the availability aggregates.
    ('readings', 'ts',         interval '1 hour',  interval '1 day',   interval '3 days',
     interval '2 days',  interval '90 days'),
    -- ledger: one row per stream and readings batch (gateways push every few seconds to a
    -- minute: at TEDA scale with 10-s pushes about 2,000 rows/s, 170 M rows/day, about 30 GB).
    -- 1-day chunks; re-tune to 6-12 hours if gateways push every second. Plain PostgreSQL:
    -- monthly partitions (small parks write a few million ledger rows a month; 14 partitions
    -- under retention). Compression after 7 days (the ledger is read back for recent history).
    -- Retention 400 days: a year of ledger history for year-on-year comparison; the
    -- availability aggregates (003) outlive it.
    ('ledger',   'updated_at', interval '1 day',   interval '1 month', interval '1 month',
     interval '7 days',  interval '400 days'),
    -- alerts: a row per lifecycle event of a (stream, need) pair: thousands a day at most.
    -- 30-day chunks, monthly partitions, compressed after 30 days, kept 2 years: the record of
    -- what partners were told.
    ('alerts',   'ts',         interval '30 days', interval '1 month', interval '1 month',
     interval '30 days', interval '730 days');


-- ---------------------------------------------------------------------------------------------
-- Plain-PostgreSQL partition maintenance. The functions are created on both engines (plain
-- PL/pgSQL), but only do anything on range-partitioned tables; on TimescaleDB they raise.

-- The partition [lo, hi) holding p_ts, for a partition interval of whole months or a fixed
-- length (days, hours). Aligned to UTC whatever the session's TimeZone.
CREATE FUNCTION symbiosis_partition_range(p_step interval, p_ts timestamptz,
                                          OUT lo timestamptz, OUT hi timestamptz)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    months integer := (extract(year FROM p_step) * 12 + extract(month FROM p_step))::integer;
    local  timestamp := p_ts AT TIME ZONE 'UTC';
    m      integer;
BEGIN
    IF months > 0 THEN
        IF p_step <> make_interval(months => months) THEN
            RAISE EXCEPTION 'partition interval % mixes months with days or time', p_step;
        END IF;
        m := (extract(year FROM local)::integer - 2000) * 12 + extract(month FROM local)::integer - 1;
        m := floor(m::numeric / months)::integer * months;
        lo := (timestamp '2000-01-01' + make_interval(months => m)) AT TIME ZONE 'UTC';
        hi := (timestamp '2000-01-01' + make_interval(months => m + months)) AT TIME ZONE 'UTC';
    ELSIF p_step > interval '0' THEN
        lo := date_bin(p_step, p_ts, timestamptz '2000-01-01 00:00:00+00');
        hi := ((lo AT TIME ZONE 'UTC') + p_step) AT TIME ZONE 'UTC';
    ELSE
        RAISE EXCEPTION 'partition interval must be positive, not %', p_step;
    END IF;
END
$$;

-- The partitions of a range-partitioned table with their bounds (NULL for the DEFAULT one).
CREATE FUNCTION symbiosis_partitions(p_parent regclass)
RETURNS TABLE (partition regclass, lo timestamptz, hi timestamptz, is_default boolean)
LANGUAGE sql STABLE AS $$
    SELECT c.oid::regclass,
           (regexp_match(b.bound, 'FROM \(''([^'']*)''\)'))[1]::timestamptz,
           (regexp_match(b.bound, 'TO \(''([^'']*)''\)'))[1]::timestamptz,
           b.bound = 'DEFAULT'
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
    WHERE i.inhparent = p_parent
$$;

-- The storage policy of a range-partitioned table; raises for anything else.
CREATE FUNCTION symbiosis_partition_policy(p_parent regclass)
RETURNS storage_policies
LANGUAGE plpgsql STABLE AS $$
DECLARE
    pol storage_policies;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = p_parent) IS DISTINCT FROM 'p' THEN
        RAISE EXCEPTION '% is not a partitioned table (on TimescaleDB, chunks need no maintenance)',
            p_parent USING ERRCODE = 'wrong_object_type';
    END IF;
    SELECT * INTO pol FROM storage_policies
    WHERE table_name = (SELECT relname FROM pg_class WHERE oid = p_parent);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no storage policy for %', p_parent USING ERRCODE = 'undefined_object';
    END IF;
    RETURN pol;
END
$$;

-- Create the partition that starts at the partition boundary at or before p_ts, unless a
-- partition already overlaps it. Rows of that range sitting in the DEFAULT partition are moved
-- into the new partition in the same transaction (attaching a partition whose range has rows in
-- DEFAULT would fail). Create-then-ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, which does
-- not block inserts and queries (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE);
-- ATTACH still takes ACCESS EXCLUSIVE on the DEFAULT partition, briefly. Concurrent callers are
-- serialised per parent by a transaction-level advisory lock. Returns 1 if created, else 0.
CREATE FUNCTION symbiosis_create_partition(p_parent regclass, p_ts timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    pol    storage_policies := symbiosis_partition_policy(p_parent);
    r      record := symbiosis_partition_range(pol.partition_interval, p_ts);
    months integer := (extract(year FROM pol.partition_interval) * 12
                       + extract(month FROM pol.partition_interval))::integer;
    fmt    text;
    nsp    text;
    name   text;
    dflt   regclass;
BEGIN
    IF EXISTS (SELECT 1 FROM symbiosis_partitions(p_parent) p
               WHERE NOT p.is_default AND p.lo < r.hi AND p.hi > r.lo) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('symbiosis_partitions:' || p_parent::oid::text));
    IF EXISTS (SELECT 1 FROM symbiosis_partitions(p_parent) p
               WHERE NOT p.is_default AND p.lo < r.hi AND p.hi > r.lo) THEN
        RETURN 0;  -- another session created it while this one waited for the lock
    END IF;
    fmt := CASE WHEN months > 0 THEN 'YYYYMM'
                WHEN extract(epoch FROM pol.partition_interval)::bigint % 86400 = 0 THEN 'YYYYMMDD'
                ELSE 'YYYYMMDD"_"HH24MISS' END;
    SELECT n.nspname, c.relname || '_p' || to_char(r.lo AT TIME ZONE 'UTC', fmt)
    INTO nsp, name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_parent;
    EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
                   ' INCLUDING STORAGE INCLUDING COMPRESSION)', nsp, name, p_parent);
    SELECT p.partition INTO dflt FROM symbiosis_partitions(p_parent) p WHERE p.is_default;
    IF dflt IS NOT NULL THEN
        EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *)'
                       ' INSERT INTO %I.%I SELECT * FROM moved',
                       dflt, pol.time_column, pol.time_column, nsp, name)
        USING r.lo, r.hi;
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                   p_parent, nsp, name,
                   to_char(r.lo AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00"'),
                   to_char(r.hi AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00"'));
    RETURN 1;
END
$$;

-- Make sure partitions cover [p_from, p_to]: every partition in between when that is at most
-- p_max_new partitions, else only the two holding p_from and p_to (a batch with one reading
-- from a meter whose clock says 1970 must not create 20,000 daily partitions; rows in the
-- uncovered gap go to DEFAULT and symbiosis_drain_default creates just their partitions).
-- Returns the number of partitions created.
CREATE FUNCTION symbiosis_ensure_partitions(p_parent regclass, p_from timestamptz,
                                            p_to timestamptz, p_max_new integer DEFAULT 64)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    pol     storage_policies := symbiosis_partition_policy(p_parent);
    cur     timestamptz := (symbiosis_partition_range(pol.partition_interval, p_from)).lo;
    starts  timestamptz[] := '{}';
    s       timestamptz;
    created integer := 0;
BEGIN
    IF p_to < p_from THEN
        RAISE EXCEPTION 'empty range: % > %', p_from, p_to;
    END IF;
    WHILE cur <= p_to LOOP
        IF cardinality(starts) >= p_max_new THEN
            starts := ARRAY[p_from, p_to];
            EXIT;
        END IF;
        starts := starts || cur;
        cur := (symbiosis_partition_range(pol.partition_interval, cur)).hi;
    END LOOP;
    FOREACH s IN ARRAY starts LOOP
        created := created + symbiosis_create_partition(p_parent, s);
    END LOOP;
    RETURN created;
END
$$;

-- Make sure each of the given instants has its partition (one per distinct partition). For a
-- batch whose rows are spread far apart: the caller sends one instant per distinct hour.
-- Returns the number of partitions created.
CREATE FUNCTION symbiosis_ensure_partitions_at(p_parent regclass, p_instants timestamptz[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    pol     storage_policies := symbiosis_partition_policy(p_parent);
    s       timestamptz;
    created integer := 0;
BEGIN
    FOR s IN SELECT DISTINCT (symbiosis_partition_range(pol.partition_interval, t)).lo
             FROM unnest(p_instants) t WHERE t IS NOT NULL ORDER BY 1 LOOP
        created := created + symbiosis_create_partition(p_parent, s);
    END LOOP;
    RETURN created;
END
$$;

-- Give every row in the DEFAULT partition its own partition (rows move). Returns the number of
-- partitions created. Rows land in DEFAULT only when no partition existed at insert time (a
-- writer that could not get the DDL lock in time, or a batch with far-apart outliers).
CREATE FUNCTION symbiosis_drain_default(p_parent regclass)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    pol     storage_policies := symbiosis_partition_policy(p_parent);
    dflt    regclass;
    s       timestamptz;
    created integer := 0;
BEGIN
    SELECT p.partition INTO dflt FROM symbiosis_partitions(p_parent) p WHERE p.is_default;
    IF dflt IS NULL THEN
        RETURN 0;
    END IF;
    FOR s IN EXECUTE format('SELECT DISTINCT (symbiosis_partition_range($1, %I)).lo FROM %s',
                            pol.time_column, dflt) USING pol.partition_interval LOOP
        created := created + symbiosis_create_partition(p_parent, s);
    END LOOP;
    RETURN created;
END
$$;

-- Retention: drop the partitions that end at or before p_horizon (as TimescaleDB's
-- drop_chunks does for chunks), and delete DEFAULT-partition rows older than it. Dropping a
-- partition takes ACCESS EXCLUSIVE on the parent for a moment (DETACH CONCURRENTLY is not
-- allowed with a DEFAULT partition); callers set lock_timeout. Returns the dropped names.
CREATE FUNCTION symbiosis_drop_partitions_older_than(p_parent regclass, p_horizon timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    pol  storage_policies := symbiosis_partition_policy(p_parent);
    p    record;
    name text;
BEGIN
    FOR p IN SELECT * FROM symbiosis_partitions(p_parent) x
             WHERE NOT x.is_default AND x.hi <= p_horizon ORDER BY x.lo LOOP
        name := p.partition::text;
        EXECUTE format('DROP TABLE %s', name);
        RETURN NEXT name;
    END LOOP;
    FOR p IN SELECT * FROM symbiosis_partitions(p_parent) x WHERE x.is_default LOOP
        EXECUTE format('DELETE FROM %s WHERE %I < $1', p.partition, pol.time_column)
        USING p_horizon;
    END LOOP;
END
$$;


-- ---------------------------------------------------------------------------------------------
-- The layout itself.
DO $$
DECLARE
    pol    storage_policies;
    legacy text;
    pkey   text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        FOR pol IN SELECT * FROM storage_policies ORDER BY table_name LOOP
            -- No default (ts DESC) btree: the BRIN index below serves time ranges inside a
            -- chunk, and a third btree would cost every insert.
            PERFORM create_hypertable(pol.table_name::regclass, pol.time_column::name,
                                      chunk_time_interval => pol.chunk_interval,
                                      create_default_indexes => false,
                                      if_not_exists => true, migrate_data => true);
            PERFORM set_chunk_time_interval(pol.table_name::regclass, pol.chunk_interval);
        END LOOP;
        -- Default indexes made by the first version of 001.
        DROP INDEX IF EXISTS readings_ts_idx, ledger_updated_at_idx, alerts_ts_idx;
    ELSE
        FOR pol IN SELECT * FROM storage_policies ORDER BY table_name LOOP
            IF (SELECT relkind FROM pg_class WHERE oid = pol.table_name::regclass) = 'p' THEN
                CONTINUE;
            END IF;
            -- A plain table from 001: rebuild it as a partitioned table, keeping its rows.
            legacy := pol.table_name || '_unpartitioned';
            SELECT pg_get_constraintdef(oid) INTO pkey FROM pg_constraint
            WHERE conrelid = pol.table_name::regclass AND contype = 'p';
            EXECUTE format('ALTER TABLE %I RENAME TO %I', pol.table_name, legacy);
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS) PARTITION BY RANGE (%I)',
                           pol.table_name, legacy, pol.time_column);
            -- Never fail an insert for want of a partition: such rows wait here until
            -- symbiosis_drain_default (run by sinks/maintenance.py) moves them.
            EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT',
                           pol.table_name || '_default', pol.table_name);
            EXECUTE format('INSERT INTO %I SELECT * FROM %I', pol.table_name, legacy);
            EXECUTE format('DROP TABLE %I', legacy);
            EXECUTE format('ALTER TABLE %I ADD %s', pol.table_name, pkey);
        END LOOP;
    END IF;
END
$$;

-- Same indexes on both engines (on partitioned tables they are created on every partition;
-- on hypertables on every chunk). BRIN on the time column: a few pages per partition, and
-- rows arrive roughly in time order, so time-bounded scans inside a partition or chunk skip
-- most blocks. pages_per_range 32 is about 2,300 rows per range; autosummarize keeps the
-- newest ranges summarised by autovacuum. The natural-key btree (primary key) also serves
-- per-meter, per-stream (ledger) and per-alert queries; per-stream readings and per-pair
-- alerts get their own.
CREATE INDEX IF NOT EXISTS readings_stream_ts ON readings (stream, ts DESC);
CREATE INDEX IF NOT EXISTS readings_ts_brin ON readings USING brin (ts)
    WITH (pages_per_range = 32, autosummarize = on);
CREATE INDEX IF NOT EXISTS ledger_updated_at_brin ON ledger USING brin (updated_at)
    WITH (pages_per_range = 32, autosummarize = on);
CREATE INDEX IF NOT EXISTS alerts_pair ON alerts (stream, need, ts DESC);
CREATE INDEX IF NOT EXISTS alerts_ts_brin ON alerts USING brin (ts)
    WITH (pages_per_range = 32, autosummarize = on);

DO $$
DECLARE
    pol storage_policies;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        -- Compression: segments per meter (readings) or stream (ledger, alerts), so a
        -- per-meter or per-stream query decompresses only its segments, ordered by time
        -- (newest first, as dashboards read). Every column of the natural key is in
        -- segmentby or orderby, so ON CONFLICT checks on compressed chunks stay exact. The
        -- meter's stream is constant per segment, so segmenting by (stream, meter) costs
        -- nothing and lets per-stream queries skip other segments.
        ALTER TABLE readings SET (timescaledb.compress,
            timescaledb.compress_segmentby = 'stream, meter',
            timescaledb.compress_orderby = 'ts DESC');
        ALTER TABLE ledger SET (timescaledb.compress,
            timescaledb.compress_segmentby = 'stream',
            timescaledb.compress_orderby = 'updated_at DESC');
        ALTER TABLE alerts SET (timescaledb.compress,
            timescaledb.compress_segmentby = 'stream',
            timescaledb.compress_orderby = 'ts DESC, idempotency_key');
        FOR pol IN SELECT * FROM storage_policies ORDER BY table_name LOOP
            PERFORM add_compression_policy(pol.table_name::regclass,
                                           compress_after => pol.compress_after,
                                           if_not_exists => true);
            PERFORM add_retention_policy(pol.table_name::regclass,
                                         drop_after => pol.drop_after, if_not_exists => true);
        END LOOP;
    ELSE
        -- Compression has no plain-PostgreSQL equivalent: only TOAST compresses large values
        -- (alert payloads), row by row. Partitions for rows already present (an upgraded
        -- database) and for the next few days/months are created now; the maintenance job
        -- keeps them ahead from then on.
        FOR pol IN SELECT * FROM storage_policies ORDER BY table_name LOOP
            PERFORM symbiosis_drain_default(pol.table_name::regclass);
            PERFORM symbiosis_ensure_partitions(pol.table_name::regclass, now(),
                                                now() + pol.premake);
        END LOOP;
    END IF;
END
$$;
