-- The oldest transaction still running: every transaction below it has ended, so no
-- event with a smaller xid can appear later (see docs/event-log.md). A function, so that
-- the reader's queries can be built with diesel's query builder, which keeps them
-- prepared, instead of raw SQL, which is parsed and planned on every call. STABLE lets
-- PostgreSQL evaluate it once per scan and use it as an index condition.
CREATE FUNCTION parley_committed_below() RETURNS BIGINT
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint $$;
