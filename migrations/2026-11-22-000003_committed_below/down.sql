DROP FUNCTION parley_committed_below();
