#!lua
-- Create a rate limit whose UniqueName is new in its service: the check and the write in one step.
-- KEYS[1] the service's UniqueName -> sid hash   KEYS[2] the service's rate limits (sorted set)
-- KEYS[3] the new rate limit (hash)
-- ARGV: 1 sid, 2 unique name, 3 description ('' for none), 4 now, 5 most rate limits per service
-- Returns {'created'}, {'duplicate', sid of the rate limit with that name} or {'full'}
local existing = redis.call('HGET', KEYS[1], ARGV[2])
if existing then return {'duplicate', existing} end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return {'full'} end
redis.call('HSET', KEYS[3], 'sid', ARGV[1], 'unique_name', ARGV[2], 'description', ARGV[3],
           'date_created', ARGV[4], 'date_updated', ARGV[4])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return {'created'}
