#!lua
-- Start a verification for a number, or re-send the pending one (Verify re-sends the same code),
-- within the number's own limits, counted in the same step as the send they allow.
-- KEYS[1] the number's state: a hash {sid: its newest verification, log: its recent sends}
-- KEYS[2] key for a new verification (same slot)   KEYS[3] the number's block (a fraud report)
-- ARGV[1] a JSON object of named arguments (store/verifications.py's Send):
--   now, expires_at   epoch seconds, as text (stored as given)
--   sid, to, channel  the new verification's sid (used when none is pending), number, channel
--   fields            the new verification's other fields, by keys.py's legend (sc, sl, hs, lc,
--                     and fn, tg when given)
--   send_digits       what a call dials once connected ('' for nothing)
--   delivers_code     false for an approve call: its code is never spoken, so never checked
--   max_sends, retention (s a finished verification is kept)
--   slot_prefix       the pending verification is slot_prefix .. 've:' .. sid, in KEYS[1]'s slot
--   number_limits     "kind:amount:seconds,..." with kind s (any send), c (a call),
--                     v (a new verification)
-- Returns {outcome, sid, attempt index}; outcome: created | resent | max_sends | blocked | limited
-- (created and resent: followed by the verification's fields as HGETALL gives them, so the
--  caller needs no second round trip to read what it answers with;
--  blocked: {outcome, '', seconds until the block lifts};
--  limited: {outcome, 'kind:amount:seconds', seconds until a slot frees})
local a = cjson.decode(ARGV[1])
local now = tonumber(a.now)
local blocked_ttl = redis.call('TTL', KEYS[3])
if blocked_ttl > 0 then return {'blocked', '', blocked_ttl} end
local existing, log = unpack(redis.call('HMGET', KEYS[1], 'sid', 'log'))
local key, sn, sr
if existing then
  key = a.slot_prefix .. 've:' .. existing
  local st, ex
  st, ex, sn, sr = unpack(redis.call('HMGET', key, 'st', 'ex', 'sn', 'sr'))
  if st == 'pending' and now < tonumber(ex) then
    sn, sr = tonumber(sn), tonumber(sr)
    if sn - sr >= a.max_sends then
      return {'max_sends', existing, sn}
    end
  else
    existing = nil
  end
end

-- The send log: "time:kinds;..." (kinds: s, plus c for a call, v for a new verification),
-- kept one day, the longest window a number's own limits may have (protection/rules.py). One
-- small field instead of a key per limit and window.
local kinds = 's' .. (a.channel ~= 'sms' and 'c' or '') .. (existing and '' or 'v')
local kept, entries = {}, {}
for time, sent in string.gmatch(log or '', '(%d+):(%a+)') do
  time = tonumber(time)
  if time > now - 86400 then
    table.insert(entries, {time, sent})
    table.insert(kept, time .. ':' .. sent)
  end
end
for kind, amount, seconds in string.gmatch(a.number_limits, '(%a):(%d+):(%d+)') do
  if string.find(kinds, kind, 1, true) then
    amount, seconds = tonumber(amount), tonumber(seconds)
    local inside = {}
    for _, entry in ipairs(entries) do
      if entry[1] > now - seconds and string.find(entry[2], kind, 1, true) then
        table.insert(inside, entry[1])
      end
    end
    if #inside >= amount then
      -- A slot frees when the oldest send that still fills the window leaves it.
      local oldest = inside[#inside - amount + 1]
      return {'limited', kind .. ':' .. amount .. ':' .. seconds, math.max(1, math.ceil(oldest + seconds - now))}
    end
  end
end
table.insert(kept, math.floor(now) .. ':' .. kinds)
redis.call('HSET', KEYS[1], 'log', table.concat(kept, ';'))

local attempt = a.channel .. '|' .. a.now .. '|queued|'
if existing then
  sn = sn + 1
  redis.call('HSET', key, 'a' .. sn, attempt, 'sn', sn, 'ch', a.channel, 'ua', a.now)
  if a.send_digits ~= '' then redis.call('HSET', key, 'sd', a.send_digits) end
  if a.delivers_code then redis.call('HSET', key, 'cd', '1') end
  redis.call('EXPIRE', KEYS[1], 86400 + 60, 'GT')
  return {'resent', existing, sn, unpack(redis.call('HGETALL', key))}
end
local fields = {'sid', a.sid, 'to', a.to, 'ch', a.channel, 'st', 'pending', 'ca', a.now, 'ua', a.now,
  'ex', a.expires_at, 'ck', 0, 'sn', 1, 'sr', 0, 'a1', attempt}
for name, value in pairs(a.fields) do
  table.insert(fields, name); table.insert(fields, value)
end
if a.send_digits ~= '' then table.insert(fields, 'sd'); table.insert(fields, a.send_digits) end
-- Only a code that was sent can approve: an approve call's code is never spoken.
if a.delivers_code then table.insert(fields, 'cd'); table.insert(fields, '1') end
redis.call('HSET', KEYS[2], unpack(fields))
-- TTLs only collect garbage: expiry itself is decided from the times passed in.
local ttl = math.ceil(tonumber(a.expires_at) - now + a.retention + 60)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('HSET', KEYS[1], 'sid', a.sid)
-- The number's state outlives the verification by the log's day.
redis.call('EXPIRE', KEYS[1], math.max(ttl, 86400 + 60))
return {'created', a.sid, 1, unpack(redis.call('HGETALL', KEYS[2]))}
