#!lua
-- Try a code on a pending challenge: its expiry, its attempts and the factor's replay check, and
-- the approval or the count, in one step.
-- KEYS[1] the challenge (hash)   KEYS[2] its factor (hash)
-- ARGV: 1 now (epoch s), 2 the counter the code matched (-1 when it matched none), 3 most codes
--       per challenge, 4 the factor's sid the counter was computed for
-- Returns {status}: the challenge's status after the code ('approved', 'pending', 'expired', or
-- unchanged when it had ended), {'max'} when it took its codes, {'missing'} or {'no_factor'}
local status, factor, expires, attempts = unpack(redis.call('HMGET', KEYS[1], 'st', 'fa', 'ex', 'at'))
if not status then return {'missing'} end
if status ~= 'pending' then return {status} end
local now = tonumber(ARGV[1])
if now >= tonumber(expires) then
  redis.call('HSET', KEYS[1], 'st', 'expired', 'ua', ARGV[1])
  return {'expired'}
end
if tonumber(attempts) >= tonumber(ARGV[3]) then return {'max'} end
local last = redis.call('HGET', KEYS[2], 'lc')
if factor ~= ARGV[4] or not last then return {'no_factor'} end
local counter = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], 'at', 1)
if counter >= 0 and counter > tonumber(last) then
  redis.call('HSET', KEYS[2], 'lc', ARGV[2])
  redis.call('HSET', KEYS[1], 'st', 'approved', 'ra', ARGV[1], 'ua', ARGV[1])
  return {'approved'}
end
redis.call('HSET', KEYS[1], 'ua', ARGV[1])
return {'pending'}
