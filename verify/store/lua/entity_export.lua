#!lua
-- Read an entity and every one of its factors as stored, in one step: an export's line is the
-- entity as it stood at one moment, its default factor among its factors.
-- KEYS[1] the entity (hash)   KEYS[2] its factors (sorted set, scored by sequence number)
-- ARGV: 1 the entity's key prefix (a factor is prefix .. 'f:' .. sid, in KEYS' slot)
-- Returns {} when there is no such entity, else {entity's fields and values (flat),
--   factor sid, its sequence number, its fields and values (flat), ...}
local entity = redis.call('HGETALL', KEYS[1])
if #entity == 0 then return {} end
local found = {entity}
local sequenced = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #sequenced, 2 do
  local fields = redis.call('HGETALL', ARGV[1] .. 'f:' .. sequenced[i])
  if #fields > 0 then
    table.insert(found, sequenced[i])
    table.insert(found, sequenced[i + 1])
    table.insert(found, fields)
  end
end
return found
