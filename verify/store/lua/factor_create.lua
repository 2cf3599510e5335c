#!lua
-- Create a factor, and its entity when the identity has none yet (as Verify does).
-- KEYS[1] the entity (hash)   KEYS[2] its factors (sorted set)   KEYS[3] the factor (hash)
-- ARGV: 1 the entity's sid should it be created, 2 the factor's sid, 3 now (epoch s),
--       4 most factors per entity, 5... the factor's own fields: field, value, ...
-- Returns {'created', 1 when the entity was created too, else 0}, or {'full'}
local entity_created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'ca', ARGV[3], 'ua', ARGV[3], 'df', '', 'sq', 0)
  entity_created = 1
elseif redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return {'full'}
end
local sequence = redis.call('HINCRBY', KEYS[1], 'sq', 1)
redis.call('ZADD', KEYS[2], sequence, ARGV[2])
redis.call('HSET', KEYS[3], 'sid', ARGV[2], 'ca', ARGV[3], 'ua', ARGV[3], 'st', 'unverified', 'at', 0, 'lc', -1,
           unpack(ARGV, 5))
return {'created', entity_created}
