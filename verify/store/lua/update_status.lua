#!lua
-- Approve or cancel a pending verification on the application's word.
-- KEYS[1] the verification   ARGV: 1 now, 2 new status, 3 retention s
-- Returns {outcome, HGETALL...}; outcome: missing | final | updated
local st, ex = unpack(redis.call('HMGET', KEYS[1], 'st', 'ex'))
if not st then return {'missing'} end
local outcome = 'final'
if st == 'pending' and tonumber(ARGV[1]) >= tonumber(ex) then
  redis.call('HSET', KEYS[1], 'st', 'expired', 'ua', ex)
elseif st == 'pending' then
  redis.call('HSET', KEYS[1], 'st', ARGV[2], 'ua', ARGV[1])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3]) + 60))
  outcome = 'updated'
end
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, outcome)
return out
