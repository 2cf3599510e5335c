#!lua
-- Check a code: count the attempt and approve at most once, in one step, and lock the number
-- out after too many failures across its verifications.
-- KEYS[1] the verification (mode 'sid') or the number's state, naming its newest one (mode 'to')
-- KEYS[2] the number's recent failed checks (sorted set)   KEYS[3] the number's lockout (hash)
-- ARGV: 1 mode, 2 now, 3 HMAC of the submitted code, 4 max checks, 5 retention s,
--       6 slot prefix (mode 'to': the verification is ARGV[6] .. 've:' .. sid, in KEYS[1]'s slot),
--       7 failures before a lockout, 8 window s over which failures count,
--       9 first lockout s (doubling with each lockout), 10 longest lockout s
-- Returns {outcome, sid, to, channel, status, created, updated, checks, lockout s} (what a check
-- answers); outcome: missing | final | locked | approved | wrong | max_attempts_reached
local key = KEYS[1]
if ARGV[1] == 'to' then
  local sid = redis.call('HGET', KEYS[1], 'sid')
  if not sid then return {'missing'} end
  key = ARGV[6] .. 've:' .. sid
end
local lockout = 0
local function answer(outcome)
  local v = redis.call('HMGET', key, 'sid', 'to', 'ch', 'st', 'ca', 'ua', 'ck')
  table.insert(v, 1, outcome)
  table.insert(v, tostring(lockout))
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
-- A locked number's checks are refused, the right code too, and are not counted.
local locked_until = tonumber(redis.call('HGET', KEYS[3], 'until') or '0')
if now < locked_until then
  lockout = math.ceil(locked_until - now)
  return answer('locked')
end
ck = tonumber(ck) + 1
-- A double-hash comparison: == may stop at the first differing byte, but it compares hashes
-- under the secret salt of both digests, which no one can steer byte by byte, so timing says
-- nothing about the digest, and costs Redis far less than a byte loop in Lua.
local given = redis.sha1hex(sl .. ARGV[3])
local outcome
if redis.sha1hex(sl .. given) == redis.sha1hex(sl .. hs) and cd == '1' then
  outcome = 'approved'
  redis.call('HSET', key, 'st', 'approved', 'ck', ck, 'ua', ARGV[2])
  redis.call('EXPIRE', key, retention)
  redis.call('DEL', KEYS[2], KEYS[3])  -- the person proved they hold the phone
  return answer(outcome)
elseif ck >= tonumber(ARGV[4]) then
  outcome = 'max_attempts_reached'
  redis.call('HSET', key, 'st', 'max_attempts_reached', 'ck', ck, 'ua', ARGV[2])
  redis.call('EXPIRE', key, retention)
else
  outcome = 'wrong'
  redis.call('HSET', key, 'ck', ck, 'ua', ARGV[2])
end
local window = tonumber(ARGV[8])
redis.call('ZADD', KEYS[2], now, key .. ':' .. ck)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('EXPIRE', KEYS[2], math.ceil(window + 60))
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[7]) then
  -- Each lockout doubles the last; the level is remembered a day past the lockout's end.
  local level = tonumber(redis.call('HGET', KEYS[3], 'level') or '0') + 1
  lockout = math.min(tonumber(ARGV[9]) * 2 ^ (level - 1), tonumber(ARGV[10]))
  redis.call('HSET', KEYS[3], 'until', now + lockout, 'level', level)
  redis.call('EXPIRE', KEYS[3], math.ceil(lockout + 86400))
  redis.call('DEL', KEYS[2])
end
return answer(outcome)
