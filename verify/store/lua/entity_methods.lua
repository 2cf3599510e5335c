#!lua
-- Read a person's methods: the entity and each of its factors, in one step (read only).
-- KEYS[1] the entity (hash)   KEYS[2] its factors (sorted set, in creation order)
-- ARGV: 1 the entity's key prefix (a factor is prefix .. 'f:' .. sid, in KEYS' slot)
-- Returns {} without an entity, else {entity's HGETALL, factor's HGETALL, ...}: each a flat
-- [field, value, ...] list; a factor whose hash is gone is left out
local entity = redis.call('HGETALL', KEYS[1])
if #entity == 0 then return {} end
local found = {entity}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local factor = redis.call('HGETALL', ARGV[1] .. 'f:' .. sid)
  if #factor > 0 then found[#found + 1] = factor end
end
return found
