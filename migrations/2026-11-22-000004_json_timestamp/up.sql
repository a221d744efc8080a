-- A timestamp exactly as the API prints it: RFC 3339 in UTC with "Z", and the fewest
-- fractional digits of 0, 3 or 6 that keep its value (what chrono's `AutoSi` prints for
-- PostgreSQL's microseconds). For event payloads built inside the statement that makes the
-- change (see `db::messages::post`), which must equal the API's own JSON byte for byte.
-- Not STRICT: PostgreSQL inlines a SQL function into the calling query only if it is not,
-- or its body is strict too (a CASE is not); otherwise it parses and plans the body again
-- on every execution of the calling statement.
CREATE FUNCTION parley_json_timestamp(t TIMESTAMPTZ) RETURNS TEXT
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE
            WHEN to_char(t AT TIME ZONE 'UTC', 'US') = '000000' THEN ''
            WHEN to_char(t AT TIME ZONE 'UTC', 'US') LIKE '%000'
                THEN '.' || to_char(t AT TIME ZONE 'UTC', 'MS')
            ELSE '.' || to_char(t AT TIME ZONE 'UTC', 'US')
        END
        || 'Z'
    $$;
