-- A timestamp exactly as the API prints it: RFC 3339 in UTC with "Z", and the fewest
-- fractional digits of 0, 3 or 6 that keep its value (what chrono's `AutoSi` prints for
-- PostgreSQL's microseconds). For event payloads built inside the statement that makes the
-- change (see `db::messages::post`), which must equal the API's own JSON byte for byte.
CREATE FUNCTION parley_json_timestamp(t TIMESTAMPTZ) RETURNS TEXT
    LANGUAGE sql STABLE PARALLEL SAFE STRICT
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
