#!lua
-- Make a verified factor the entity's default factor (telverify's).
-- KEYS[1] the entity (hash)   KEYS[2] the factor (hash)
-- ARGV: 1 the factor's sid, 2 now (epoch s)
-- Returns 'ok', 'no_entity', 'no_factor' or 'unverified'
if redis.call('EXISTS', KEYS[1]) == 0 then return 'no_entity' end
local status = redis.call('HGET', KEYS[2], 'st')
if not status then return 'no_factor' end
if status ~= 'verified' then return 'unverified' end
redis.call('HSET', KEYS[1], 'df', ARGV[1], 'ua', ARGV[2])
return 'ok'
