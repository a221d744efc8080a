DROP FUNCTION parley_json_timestamp(TIMESTAMPTZ);
