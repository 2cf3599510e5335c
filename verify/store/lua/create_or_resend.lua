#!lua
-- Start a verification for a number, or re-send the pending one (Verify re-sends the same code),
-- within the number's own limits, counted in the same step as the send they allow.
-- KEYS[1] the number's key (its sends and its verifications' records: record.lua)
-- KEYS[2] the new verification's working hash (same slot)   KEYS[3] the number's block (a fraud report)
-- KEYS[4] the number's state in its older format (keys.latest): carried over, then deleted
-- ARGV[1] a JSON object of named arguments (store/verifications.py's Send):
--   now               epoch seconds, as text
--   expires_in        when the code expires, in whole seconds after now's whole second (the
--                     record's ca)
--   sid, to, channel  the new verification's sid (used when none is pending), number, channel
--   working           the new verification's working fields, by keys.py's legend (sc, sl, hs,
--                     and fn, tg, yc when given; a resend keeps the pending one's. yc names a
--                     challenge: the pending verification is re-sent only when it has the same
--                     yc, or neither has one; else it is canceled and a new one started)
--   locale            the language of its texts and calls
--   send_digits       what a call dials once connected ('' for nothing)
--   delivers_code     false for an approve call: its code is never spoken, so never checked
--   max_sends, retention (s a finished verification is kept)
--   slot_prefix       the pending verification's working hash is slot_prefix .. 've:' .. sid
--   number_limits     "kind:amount:seconds,..." with kind s (any send), c (a call),
--                     v (a new verification)
-- Returns {outcome, sid, attempt index}; outcome: created | resent | max_sends | blocked | limited
-- (created and resent: followed by the verification's record and its working fields sc, fn, sd
--  (false where unset), so the caller needs no second round trip to read what it answers with;
--  blocked: {outcome, '', seconds until the block lifts};
--  limited: {outcome, 'kind:amount:seconds', seconds until a slot frees})
local a = cjson.decode(ARGV[1])
local now = tonumber(a.now)
local blocked_ttl = redis.call('TTL', KEYS[3])
if blocked_ttl > 0 then return {'blocked', '', blocked_ttl} end
local text = redis.call('GET', KEYS[1]) or ''
local original, need = text, 0
local function reply(value)
  if text ~= original then save(KEYS[1], text, need) end
  return value
end

local log = entry(text, a.to)
local existing = newest(text, a.slot_prefix, a.to)
local carried_newest = false
if not log and not existing then
  existing, log = unpack(redis.call('HMGET', KEYS[4], 'sid', 'log'))
  if existing or log then
    need = math.max(need, redis.call('TTL', KEYS[4]))
    redis.call('DEL', KEYS[4])
    carried_newest = existing ~= false
  end
end
local previous, key, r, sn, sr = existing
if existing then
  key = a.slot_prefix .. 've:' .. existing
  local carried
  text, r, carried = load(text, existing, key)
  need = math.max(need, carried)
  if r and carried_newest then
    r.newest = true
    text = with_record(text, existing, r)
  end
  if r and r.st == 'pending' and now < expiry(r)
      and (redis.call('HGET', key, 'yc') or '') ~= (a.working.yc or '') then
    -- A challenge's verification is its own: one pending for another challenge, or started by
    -- the application, is canceled, not re-sent and shared (nor is a challenge's re-sent for
    -- the application), so that its approval (a code, a #) approves no challenge but the one
    -- it was started for.
    finish(r, 'canceled', now)
    text = with_record(text, existing, r)
    redis.call('DEL', key)
    need = math.max(need, a.retention + 60)
  elseif r and r.st == 'pending' and now < expiry(r) then
    sn, sr = unpack(redis.call('HMGET', key, 'sn', 'sr'))
  elseif r and r.st == 'pending' then
    -- Ended by expiry, untouched since: recorded as it is answered.
    expire(r)
    text = with_record(text, existing, r)
    redis.call('DEL', key)
  end
end
if sn then
  sn, sr = tonumber(sn), tonumber(sr)
  if sn - sr >= a.max_sends then
    return reply({'max_sends', existing, sn})
  end
else
  existing = nil
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
      return reply({'limited', kind .. ':' .. amount .. ':' .. seconds,
                    math.max(1, math.ceil(oldest + seconds - now))})
    end
  end
end
table.insert(kept, math.floor(now) .. ':' .. kinds)
log = table.concat(kept, ';')

-- The number's sends are kept a day after the newest.
need = math.max(need, 86400 + 60)
if existing then
  sn = sn + 1
  redis.call('HSET', key, 'sn', sn)
  if a.send_digits ~= '' then redis.call('HSET', key, 'sd', a.send_digits) end
  if a.delivers_code then redis.call('HSET', key, 'cd', '1') end
  if a.working.yc then redis.call('HSET', key, 'yc', a.working.yc) end
  table.insert(attempts(r), new_attempt(sn, a.channel, math.floor(now) - r.ca))
  r.ch, r.ua = a.channel, math.floor(now) - r.ca
  text = with_entry(with_record(text, existing, r), a.to, log)
  return reply({'resent', existing, sn, text_of(r), unpack(redis.call('HMGET', key, 'sc', 'fn', 'sd'))})
end

-- Records past their day go when a verification is added, the only time the text grows, and so
-- do the sends of numbers (another with the same tag) with none in the last day.
local retention = a.retention + 60
for name, value in string.gmatch(text, '\n([^=\n]+)=([^\n]*)') do
  if string.sub(name, 1, 1) == '+' then
    local recent = false
    for time in string.gmatch(value, '(%d+):') do
      if tonumber(time) > now - 86400 then recent = true end
    end
    if not recent then text = with_entry(text, name, nil) end
  else
    local old = record_of(value)
    local ended = old.st == 'pending' and expiry(old) or old.ca + old.ua
    if now >= ended + retention then text = with_entry(text, name, nil) end
  end
end
-- The verification it follows is no longer the number's newest.
if r and r.newest and entry(text, name_of(previous)) then
  r.newest = false
  text = with_record(text, previous, r)
end

local fields = {'sn', 1, 'sr', 0}
for name, value in pairs(a.working) do
  table.insert(fields, name); table.insert(fields, value)
end
if a.send_digits ~= '' then table.insert(fields, 'sd'); table.insert(fields, a.send_digits) end
-- Only a code that was sent can approve: an approve call's code is never spoken.
if a.delivers_code then table.insert(fields, 'cd'); table.insert(fields, '1') end
redis.call('HSET', KEYS[2], unpack(fields))
r = {newest = true, to = a.to, ch = a.channel, st = 'pending', ca = math.floor(now), ua = 0, ex = a.expires_in,
     lc = a.locale, ck = 0, fr = '', rest = '', attempts = {new_attempt(1, a.channel, 0)}}
-- TTLs only collect garbage: expiry itself is decided from the times passed in. The working
-- fields are of no use once the code has expired; the record is kept a day past its end.
redis.call('EXPIRE', KEYS[2], math.ceil(expiry(r) - now) + 60)
text = with_entry(with_record(text, a.sid, r), a.to, log)
need = math.max(need, math.ceil(expiry(r) - now + retention))
return reply({'created', a.sid, 1, text_of(r), a.working.sc, a.working.fn or false,
              a.send_digits ~= '' and a.send_digits or false})
