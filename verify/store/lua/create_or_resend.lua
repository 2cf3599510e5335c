#!lua
-- Start a verification for a number, or re-send the pending one (Verify re-sends the same code),
-- within the number's own limits, counted in the same step as the send they allow.
-- KEYS[1] the number's state: a hash {sid: its newest verification, log: its recent sends}
-- KEYS[2] key for a new verification (same slot)   KEYS[3] the number's block (a fraud report)
-- ARGV: 1 now, 2 new sid, 3 to, 4 channel, 5 expires_at, 6 sealed code, 7 salt, 8 salted digest,
--       9 locale, 10 custom friendly name, 11 tags, 12 max sends, 13 retention s,
--       14 slot prefix (the pending verification is ARGV[14] .. 've:' .. sid, in KEYS[1]'s slot),
--       15 send digits, 16 '1' when this channel delivers the code ('0': an approve call),
--       17 the number's limits, "kind:amount:seconds,..." with kind s (any send), c (a call),
--       v (a new verification)
-- Returns {outcome, sid, attempt index}; outcome: created | resent | max_sends | blocked | limited
-- (created and resent: followed by the verification's fields as HGETALL gives them, so the
--  caller needs no second round trip to read what it answers with;
--  blocked: {outcome, '', seconds until the block lifts};
--  limited: {outcome, 'kind:amount:seconds', seconds until a slot frees})
local now = tonumber(ARGV[1])
local blocked_ttl = redis.call('TTL', KEYS[3])
if blocked_ttl > 0 then return {'blocked', '', blocked_ttl} end
local existing, log = unpack(redis.call('HMGET', KEYS[1], 'sid', 'log'))
local key, sn, sr
if existing then
  key = ARGV[14] .. 've:' .. existing
  local st, ex
  st, ex, sn, sr = unpack(redis.call('HMGET', key, 'st', 'ex', 'sn', 'sr'))
  if st == 'pending' and now < tonumber(ex) then
    sn, sr = tonumber(sn), tonumber(sr)
    if sn - sr >= tonumber(ARGV[12]) then
      return {'max_sends', existing, sn}
    end
  else
    existing = nil
  end
end

-- The send log: "time:kinds;..." (kinds: s, plus c for a call, v for a new verification),
-- kept one day, the longest window. One small field instead of a key per limit and window.
local kinds = 's' .. (ARGV[4] ~= 'sms' and 'c' or '') .. (existing and '' or 'v')
local kept, entries = {}, {}
for time, sent in string.gmatch(log or '', '(%d+):(%a+)') do
  time = tonumber(time)
  if time > now - 86400 then
    table.insert(entries, {time, sent})
    table.insert(kept, time .. ':' .. sent)
  end
end
for kind, amount, seconds in string.gmatch(ARGV[17], '(%a):(%d+):(%d+)') do
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

if existing then
  sn = sn + 1
  redis.call('HSET', key, 'a' .. sn, ARGV[4] .. '|' .. ARGV[1] .. '|queued|', 'sn', sn,
    'ch', ARGV[4], 'ua', ARGV[1])
  if ARGV[15] ~= '' then redis.call('HSET', key, 'sd', ARGV[15]) end
  if ARGV[16] == '1' then redis.call('HSET', key, 'cd', '1') end
  redis.call('EXPIRE', KEYS[1], 86400 + 60, 'GT')
  return {'resent', existing, sn, unpack(redis.call('HGETALL', key))}
end
local fields = {'sid', ARGV[2], 'to', ARGV[3], 'ch', ARGV[4], 'st', 'pending', 'ca', ARGV[1],
  'ua', ARGV[1], 'ex', ARGV[5], 'sc', ARGV[6], 'sl', ARGV[7], 'hs', ARGV[8], 'ck', 0, 'sn', 1,
  'sr', 0, 'lc', ARGV[9], 'a1', ARGV[4] .. '|' .. ARGV[1] .. '|queued|'}
if ARGV[10] ~= '' then table.insert(fields, 'fn'); table.insert(fields, ARGV[10]) end
if ARGV[11] ~= '' then table.insert(fields, 'tg'); table.insert(fields, ARGV[11]) end
if ARGV[15] ~= '' then table.insert(fields, 'sd'); table.insert(fields, ARGV[15]) end
-- Only a code that was sent can approve: an approve call's code is never spoken.
if ARGV[16] == '1' then table.insert(fields, 'cd'); table.insert(fields, '1') end
redis.call('HSET', KEYS[2], unpack(fields))
-- TTLs only collect garbage: expiry itself is decided from ARGV times.
local ttl = math.ceil(tonumber(ARGV[5]) - now + tonumber(ARGV[13]) + 60)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('HSET', KEYS[1], 'sid', ARGV[2])
-- The number's state outlives the verification by the log's day.
redis.call('EXPIRE', KEYS[1], math.max(ttl, 86400 + 60))
return {'created', ARGV[2], 1, unpack(redis.call('HGETALL', KEYS[2]))}
