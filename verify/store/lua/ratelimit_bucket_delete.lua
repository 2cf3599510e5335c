#!lua
-- Delete a bucket if it belongs to the named rate limit, with its place in the rate limit's list.
-- KEYS[1] the bucket (hash)   KEYS[2] the rate limit's buckets (sorted set)
-- ARGV: 1 the rate limit's sid, 2 the bucket's sid
-- Returns 1, or 0 when the rate limit has no such bucket
if redis.call('HGET', KEYS[1], 'rate_limit_sid') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
