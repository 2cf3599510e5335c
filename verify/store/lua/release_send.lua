#!lua
-- Take back a send attempt the carrier did not accept, so it does not use up the person's sends.
-- KEYS[1] the verification   KEYS[2] the number's state (its newest verification, its send log)
-- ARGV: 1 attempt index, 2 '1' when the carrier refused the number for good
-- A verification whose only send was refused for good is removed, as Verify creates none.
-- Returns the number of sends still standing.
local sid, st, sn, sr = unpack(redis.call('HMGET', KEYS[1], 'sid', 'st', 'sn', 'sr'))
if not sid or redis.call('HDEL', KEYS[1], 'a' .. ARGV[1]) == 0 then return -1 end
sr = redis.call('HINCRBY', KEYS[1], 'sr', 1)
local standing = tonumber(sn) - sr
if standing == 0 and ARGV[2] == '1' and st == 'pending' then
  redis.call('DEL', KEYS[1])
  -- The send stays in the number's log: a number that keeps failing keeps counting.
  if redis.call('HGET', KEYS[2], 'sid') == sid then redis.call('HDEL', KEYS[2], 'sid') end
end
return standing
