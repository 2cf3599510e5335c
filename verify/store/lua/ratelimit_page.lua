#!lua flags=no-writes
-- A page of a service's rate limits or of a rate limit's buckets, read in one step.
-- KEYS[1] the sids in creation order (sorted set)   KEYS[2] (buckets only) the rate limit
-- ARGV: 1 offset, 2 how many, 3 the prefix of the items' keys (an item's key is prefix .. sid, with
--       the service's hash tag, as KEYS')
-- Returns false when KEYS[2] does not exist, else a list of items, each its fields and values
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 0 then return false end
local offset = tonumber(ARGV[1])
local items = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], offset, offset + tonumber(ARGV[2]) - 1)) do
  table.insert(items, redis.call('HGETALL', ARGV[3] .. sid))
end
return items
