#!lua
-- Change a service's settings only if it still exists (a concurrent delete wins).
-- KEYS[1] the service   ARGV: field, value, field, value, ...
-- Returns 1, or 0 when the service does not exist
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
