#!lua
-- Create a factor, and its entity when the identity has none yet (as Verify does). A phone
-- factor's kind is held by one factor of the entity at most: looked for here, in the same step.
-- KEYS[1] the entity (hash)   KEYS[2] its factors (sorted set)   KEYS[3] the factor (hash)
-- ARGV: 1 the entity's sid should it be created, 2 the factor's sid, 3 now (epoch s),
--       4 most factors per entity, 5 the entity's key prefix (a factor is prefix .. 'f:' .. sid),
--       6 the phone kind (kd) no other factor may have ('' for none), or 'kind:sid' when the factor
--         is to replace factor `sid` of that kind once proven (the two share the kind till then),
--       7... the factor's own fields: field, value, ...
-- Returns {'created', 1 when the entity was created too, else 0}, {'full'}, or {'duplicate', sid of
-- the factor of that kind}
local entity_created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'ca', ARGV[3], 'ua', ARGV[3], 'df', '', 'sq', 0)
  entity_created = 1
elseif redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return {'full'}
elseif ARGV[6] ~= '' then
  local kind, replaces = string.match(ARGV[6], '^([^:]*):?(.*)$')
  for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if sid ~= replaces and redis.call('HGET', ARGV[5] .. 'f:' .. sid, 'kd') == kind then return {'duplicate', sid} end
  end
end
local sequence = redis.call('HINCRBY', KEYS[1], 'sq', 1)
redis.call('ZADD', KEYS[2], sequence, ARGV[2])
redis.call('HSET', KEYS[3], 'sid', ARGV[2], 'ca', ARGV[3], 'ua', ARGV[3], 'st', 'unverified', 'at', 0, 'lc', -1,
           unpack(ARGV, 7))
return {'created', entity_created}
