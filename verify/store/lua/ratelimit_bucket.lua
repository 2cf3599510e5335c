#!lua
-- Create or change a bucket of a rate limit, each Interval at most once per rate limit, in one step.
-- KEYS[1] the rate limit (hash)   KEYS[2] its buckets (sorted set)   KEYS[3] the bucket (hash)
-- ARGV: 1 'create' or 'update', 2 the rate limit's sid, 3 the bucket's sid, 4 now,
--       5 Max or '' (unchanged), 6 Interval or '' (unchanged), 7 prefix of bucket keys (the
--       service's hash tag, as KEYS'),
--       8 most buckets per rate limit
-- Returns {'created' or 'updated', field, value, ...} (the bucket), {'missing'}, {'full'},
-- or {'duplicate_interval', sid of the bucket that has that Interval}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local creating = ARGV[1] == 'create'
if creating then
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[8]) then return {'full'} end
elseif redis.call('HGET', KEYS[3], 'rate_limit_sid') ~= ARGV[2] then
  return {'missing'}
end
if ARGV[6] ~= '' then
  for _, other in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if other ~= ARGV[3] and redis.call('HGET', ARGV[7] .. other, 'interval') == ARGV[6] then
      return {'duplicate_interval', other}
    end
  end
end
if creating then
  redis.call('HSET', KEYS[3], 'sid', ARGV[3], 'rate_limit_sid', ARGV[2], 'date_created', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
end
redis.call('HSET', KEYS[3], 'date_updated', ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[3], 'max', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[3], 'interval', ARGV[6]) end
local bucket = redis.call('HGETALL', KEYS[3])
table.insert(bucket, 1, creating and 'created' or 'updated')
return bucket
