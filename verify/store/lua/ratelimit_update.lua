#!lua
-- Change a rate limit's Description only if it still exists (a concurrent delete wins).
-- KEYS[1] the rate limit (hash)   ARGV: 1 description ('' for none), 2 now
-- Returns the rate limit's fields and values, or an empty list when it does not exist
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('HSET', KEYS[1], 'description', ARGV[1], 'date_updated', ARGV[2])
return redis.call('HGETALL', KEYS[1])
