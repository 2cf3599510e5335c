#!lua
-- Delete a rate limit, its buckets and its UniqueName in one step.
-- KEYS[1] the rate limit (hash)   KEYS[2] the service's UniqueName -> sid hash
-- KEYS[3] the service's rate limits (sorted set)   KEYS[4] the rate limit's buckets (sorted set)
-- ARGV: 1 the rate limit's sid, 2 the prefix of bucket keys (a bucket's key is prefix .. sid, with
--       the service's hash tag, as KEYS')
-- Returns 1, or 0 when there was no such rate limit
local name = redis.call('HGET', KEYS[1], 'unique_name')
if not name then return 0 end
for _, bucket in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  redis.call('DEL', ARGV[2] .. bucket)
end
redis.call('DEL', KEYS[1], KEYS[4])
if redis.call('HGET', KEYS[2], name) == ARGV[1] then redis.call('HDEL', KEYS[2], name) end
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
