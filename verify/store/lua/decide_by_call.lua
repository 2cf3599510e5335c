#!lua
-- The person on an approve call pressed # (approve) or confirmed a fraud report, in one step.
-- KEYS[1] the verification   KEYS[2] the number's block key (same slot; fraud_reported only)
-- ARGV: 1 now, 2 attempt index, 3 CallSid, 4 decision: approved | fraud_reported,
--       5 retention s, 6 block s
-- Returns {result, channel, st, ex, to, lc, fn, sc, m<n>} (false where unset), the reply
-- call_event.lua gives a TwiML webhook (model.CallTurn); result: missing | foreign | repeat
-- (this call already decided so) | final (no longer pending: decided elsewhere, expired,
-- canceled) | decided
local n, decision = ARGV[2], ARGV[4]
local st, ex, bound, outcome, attempt = unpack(redis.call('HMGET', KEYS[1], 'st', 'ex', 'c' .. n, 'o' .. n,
  'a' .. n))
-- Only an approve call decides (attempts are "channel|time|status|error").
if not st or not attempt or string.sub(attempt, 1, 13) ~= 'call_approve|' then return {'missing'} end
if bound and bound ~= ARGV[3] then return {'foreign'} end
local result
if outcome == decision then
  result = 'repeat'
elseif st == 'pending' and tonumber(ARGV[1]) >= tonumber(ex) then
  redis.call('HSET', KEYS[1], 'st', 'expired', 'ua', ex)
  result = 'final'
elseif st ~= 'pending' then
  result = 'final'
else
  result = 'decided'
  if decision == 'approved' then
    redis.call('HSET', KEYS[1], 'st', 'approved', 'ua', ARGV[1], 'o' .. n, 'approved', 'c' .. n, ARGV[3])
  else
    -- Denied: the verification fails and the number is not called or texted again for this service.
    redis.call('HSET', KEYS[1], 'st', 'failed', 'ua', ARGV[1], 'o' .. n, 'fraud_reported', 'fr', '1',
      'c' .. n, ARGV[3])
    redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[6])
  end
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[5]) + 60))
end
local out = redis.call('HMGET', KEYS[1], 'st', 'ex', 'to', 'lc', 'fn', 'sc', 'm' .. n)
table.insert(out, 1, 'call_approve')
table.insert(out, 1, result)
return out
