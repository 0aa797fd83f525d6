-- 007: readings keep two indexes, the primary key (meter, ts) and the BRIN on ts; their
-- (stream, ts DESC) btree goes. No query of the product reads readings by stream: the API
-- pages one meter's readings through the primary key, per-stream state is the ledger's, and a
-- check of a stream's readings reads them by the stream's meters (the primary key) or, bounded
-- in time, through the BRIN. The index cost the sink's COPY about half of its speed on a
-- TEDA-shaped load (docs/performance.md, "The sink"). Dropping the parent's index drops it on
-- every partition (plain PostgreSQL) or chunk (TimescaleDB); no table is rewritten. DROP INDEX
-- takes the table's exclusive lock for a moment at the sink's start (the migration's turn).
DROP INDEX IF EXISTS readings_stream_ts;
