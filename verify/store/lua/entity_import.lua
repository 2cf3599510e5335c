#!lua
-- Write an entity and its factors as an export holds them, unless its identity is taken: an
-- import never changes an entity that exists. All of it or nothing, in one step.
-- KEYS[1] the entity (hash)   KEYS[2] its factors (sorted set, scored by sequence number)
-- ARGV: 1 the entity's key prefix (a factor is prefix .. 'f:' .. sid, in KEYS' slot),
--       2 the entity's fields and values (JSON object of strings),
--       3 its factors (JSON array of [sid, sequence number, object of fields and values])
-- Returns 'imported', or 'exists' when the identity has an entity (nothing is written)
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
redis.call('DEL', KEYS[2])  -- the factors are the export's alone
local function hset(key, fields)
  local flat = {}
  for field, value in pairs(fields) do
    table.insert(flat, field)
    table.insert(flat, value)
  end
  redis.call('HSET', key, unpack(flat))
end
hset(KEYS[1], cjson.decode(ARGV[2]))
for _, factor in ipairs(cjson.decode(ARGV[3])) do
  -- A factor left over under this prefix (there is none while the entity is absent) gives way.
  redis.call('DEL', ARGV[1] .. 'f:' .. factor[1])
  hset(ARGV[1] .. 'f:' .. factor[1], factor[3])
  redis.call('ZADD', KEYS[2], factor[2], factor[1])
end
return 'imported'
