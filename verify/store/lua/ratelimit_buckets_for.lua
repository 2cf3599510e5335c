#!lua flags=no-writes
-- The buckets of the rate limit that has this UniqueName, read in one step (for enforcement).
-- KEYS[1] the service's UniqueName -> sid hash
-- ARGV: 1 the unique name, 2 prefix of buckets-list keys, 3 prefix of bucket keys (key = prefix .. sid;
--       both prefixes have the service's hash tag, as KEYS[1])
-- Returns false when no rate limit has the name, else {rate limit sid, bucket, bucket, ...}, each
-- bucket its fields and values, in creation order
local sid = redis.call('HGET', KEYS[1], ARGV[1])
if not sid then return false end
local out = {sid}
for _, bucket in ipairs(redis.call('ZRANGE', ARGV[2] .. sid, 0, -1)) do
  table.insert(out, redis.call('HGETALL', ARGV[3] .. bucket))
end
return out
