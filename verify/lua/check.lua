-- Check a code: count the attempt and approve at most once, in one step.
-- KEYS[1] the verification (mode 'sid') or the number's latest pointer (mode 'to')
-- ARGV: 1 mode, 2 now, 3 HMAC of the submitted code, 4 max checks, 5 retention s, 6 slot prefix
-- Returns {outcome, sid, to, channel, status, created, updated, checks} (what a check answers);
-- outcome: missing | final | approved | wrong | max_attempts_reached
local key = KEYS[1]
if ARGV[1] == 'to' then
  local sid = redis.call('GET', KEYS[1])
  if not sid then return {'missing'} end
  key = ARGV[6] .. 've:' .. sid
end
local function answer(outcome)
  local v = redis.call('HMGET', key, 'sid', 'to', 'ch', 'st', 'ca', 'ua', 'ck')
  table.insert(v, 1, outcome)
  return v
end
local now = tonumber(ARGV[2])
local st, ex, ck, sl, hs, cd = unpack(redis.call('HMGET', key, 'st', 'ex', 'ck', 'sl', 'hs', 'cd'))
if not st then return {'missing'} end
local retention = math.ceil(tonumber(ARGV[5]) + 60)
if st == 'pending' and now >= tonumber(ex) then
  redis.call('HSET', key, 'st', 'expired', 'ua', ex)
  st = 'expired'
end
if st ~= 'pending' then return answer('final') end
ck = tonumber(ck) + 1
-- Compare every byte whatever the outcome, so timing says nothing about the digest.
local given = redis.sha1hex(sl .. ARGV[3])
local diff = 0
for i = 1, #hs do
  diff = bit.bor(diff, bit.bxor(string.byte(hs, i), string.byte(given, i) or 0))
end
local outcome
if diff == 0 and #given == #hs and cd == '1' then
  outcome = 'approved'
  redis.call('HSET', key, 'st', 'approved', 'ck', ck, 'ua', ARGV[2])
  redis.call('EXPIRE', key, retention)
elseif ck >= tonumber(ARGV[4]) then
  outcome = 'max_attempts_reached'
  redis.call('HSET', key, 'st', 'max_attempts_reached', 'ck', ck, 'ua', ARGV[2])
  redis.call('EXPIRE', key, retention)
else
  outcome = 'wrong'
  redis.call('HSET', key, 'ck', ck, 'ua', ARGV[2])
end
return answer(outcome)
