#!lua
-- The person on an approve call pressed # (approve) or confirmed a fraud report, in one step.
-- KEYS[1] the number's key (record.lua)   KEYS[2] the verification's working hash
-- KEYS[3] the number's block key (same slot; fraud_reported only): holds when the block lifts
-- ARGV: 1 now, 2 attempt index, 3 CallSid, 4 decision: approved | fraud_reported,
--       5 retention s, 6 block s, 7 the verification's sid
-- Returns {result, channel, st, ex, to, lc, fn, sc, m<n>, yc} (false where unset): the reply
-- call_event.lua gives a TwiML webhook (model.CallTurn), then the phone challenge the
-- verification settles (keys.py: yc); result: missing | foreign | repeat (this call already
-- decided so) | final (no longer pending: decided elsewhere, expired, canceled) | decided
local now, decision, sid = tonumber(ARGV[1]), ARGV[4], ARGV[7]
local text = redis.call('GET', KEYS[1]) or ''
local original, r, need = text, nil, 0
text, r, need = load(text, sid, KEYS[2])
local a = r and attempt(r, ARGV[2])
local result
-- Only an approve call decides.
if not a or a.channel ~= 'call_approve' then
  result = 'missing'
elseif a.call ~= '' and a.call ~= ARGV[3] then
  result = 'foreign'
end
if result then
  if text ~= original then save(KEYS[1], text, need) end
  return {result}
end
local fn, sc, yc = unpack(redis.call('HMGET', KEYS[2], 'fn', 'sc', 'yc'))
if a.outcome == decision then
  result = 'repeat'
elseif r.st ~= 'pending' then
  result = 'final'
else
  if now >= expiry(r) then
    expire(r)
    result = 'final'
  else
    result = 'decided'
    a.outcome, a.call = decision, ARGV[3]
    if decision == 'approved' then
      finish(r, 'approved', now)
    else
      -- Denied: the verification fails and the number is not called or texted again for this service.
      finish(r, 'failed', now)
      r.fr = '1'
      redis.call('SET', KEYS[3], string.format('%.3f', now + tonumber(ARGV[6])), 'EX', ARGV[6])
    end
  end
  text = with_record(text, sid, r)
  redis.call('DEL', KEYS[2])
  need = math.max(need, math.ceil(tonumber(ARGV[5]) + 60))
end
if text ~= original then save(KEYS[1], text, need) end
return {result, 'call_approve', r.st, expires(r), r.to, r.lc, fn, sc, a.answered ~= '' and a.answered, yc}
