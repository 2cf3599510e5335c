#!lua
-- Set fields of a /my/ session, unless it has ended (signed out, or cleaned up).
-- KEYS[1] the session (hash)
-- ARGV: 1... fields to set, name and value pairs
-- Returns 1, or 0 when there is no such session
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
