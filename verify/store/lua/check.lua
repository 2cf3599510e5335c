#!lua
-- Check a code: count the attempt and approve at most once, in one step, and lock the number
-- out after too many failures across its verifications.
-- KEYS[1] the number's key (its sends and its verifications' records: record.lua)
-- KEYS[2] the number's recent failed checks (sorted set)   KEYS[3] the number's lockout (hash)
-- ARGV: 1 mode ('sid' or 'to'), 2 now, 3 HMAC of the submitted code, 4 max checks, 5 retention s,
--       6 slot prefix (the verification's working hash is ARGV[6] .. 've:' .. sid, and in mode
--       'to' the number's state in its older format ARGV[6] .. 'latest:' .. to (keys.latest): built
--       here, in KEYS[1]'s slot, so that the hot path's caller builds no more keys than it needs),
--       7 failures before a lockout, 8 window s over which failures count,
--       9 first lockout s (doubling with each lockout), 10 longest lockout s, 11 the sid or the number
-- Returns {outcome, sid, to, channel, status, created, updated, checks, lockout s} (what a check
-- answers); outcome: missing | final | locked | approved | wrong | max_attempts_reached
local now = tonumber(ARGV[2])
local text = redis.call('GET', KEYS[1]) or ''
local original, need = text, 0
local sid = ARGV[11]
if ARGV[1] == 'to' then
  sid = newest(text, ARGV[6], ARGV[11]) or redis.call('HGET', ARGV[6] .. 'latest:' .. ARGV[11], 'sid')
  if not sid then return {'missing'} end
end
local key = ARGV[6] .. 've:' .. sid
local r
text, r, need = load(text, sid, key)
if not r then return {'missing'} end
local lockout = 0
local function answer(outcome)
  if text ~= original then save(KEYS[1], text, need) end
  return {outcome, sid, r.to, r.ch, r.st, tostring(r.ca), tostring(r.ca + r.ua), tostring(r.ck), tostring(lockout)}
end
local retention = math.ceil(tonumber(ARGV[5]) + 60)
local function ended()
  text = with_record(text, sid, r)
  redis.call('DEL', key)  -- the working fields: the code is no longer checked
  need = math.max(need, retention)
end
local sl, hs, cd
if r.st == 'pending' then
  sl, hs, cd = unpack(redis.call('HMGET', key, 'sl', 'hs', 'cd'))
  -- Without its working fields (collected after expiry) a code cannot be checked either.
  if now >= expiry(r) or not sl then
    expire(r)
    ended()
  end
end
if r.st ~= 'pending' then return answer('final') end
-- A locked number's checks are refused, the right code too, and are not counted.
local locked_until = tonumber(redis.call('HGET', KEYS[3], 'until') or '0')
if now < locked_until then
  lockout = math.ceil(locked_until - now)
  return answer('locked')
end
r.ck = r.ck + 1
-- A double-hash comparison: == may stop at the first differing byte, but it compares hashes
-- under the secret salt of both digests, which no one can steer byte by byte, so timing says
-- nothing about the digest, and costs Redis far less than a byte loop in Lua.
local given = redis.sha1hex(sl .. ARGV[3])
local outcome
if redis.sha1hex(sl .. given) == redis.sha1hex(sl .. hs) and cd == '1' then
  finish(r, 'approved', now)
  ended()
  redis.call('DEL', KEYS[2], KEYS[3])  -- the person proved they hold the phone
  return answer('approved')
elseif r.ck >= tonumber(ARGV[4]) then
  outcome = 'max_attempts_reached'
  finish(r, outcome, now)
  ended()
else
  outcome = 'wrong'
  r.ua = math.floor(now) - r.ca
  text = with_record(text, sid, r)
end
local window = tonumber(ARGV[8])
-- Members as short as they can be unique, so that the set stays a compact listpack.
redis.call('ZADD', KEYS[2], now, name_of(sid) .. ':' .. r.ck)
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
