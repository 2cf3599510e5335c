#!lua
-- Store a factor's seed sealed again under the current SECRET_KEY, unless it changed meanwhile.
-- KEYS[1] the factor (hash)   ARGV: 1 the sealed seed (sd) as read, 2 the id of the key that seals it
-- again (sv), 3 the seed sealed again (sd)
-- Returns 1 when stored, else 0
if redis.call('HGET', KEYS[1], 'sd') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'sv', ARGV[2], 'sd', ARGV[3])
return 1
