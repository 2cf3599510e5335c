-- Start a verification for a number, or re-send the pending one (Verify re-sends the same code).
-- KEYS[1] latest pointer of the number   KEYS[2] key for a new verification (same slot)
-- ARGV: 1 now, 2 new sid, 3 to, 4 channel, 5 expires_at, 6 sealed code, 7 salt, 8 salted digest,
--       9 locale, 10 custom friendly name, 11 tags, 12 max sends, 13 retention s, 14 slot prefix,
--       15 send digits, 16 '1' when this channel delivers the code ('0': an approve call)
-- KEYS[3] the number's block (a fraud report from an approve call)
-- Returns {outcome, sid, attempt index}; outcome: created | resent | max_sends | blocked
-- (blocked: {outcome, '', seconds until the block lifts})
local now = tonumber(ARGV[1])
local blocked_ttl = redis.call('TTL', KEYS[3])
if blocked_ttl > 0 then return {'blocked', '', blocked_ttl} end
local existing = redis.call('GET', KEYS[1])
if existing then
  local key = ARGV[14] .. 've:' .. existing
  local st, ex, sn, sr = unpack(redis.call('HMGET', key, 'st', 'ex', 'sn', 'sr'))
  if st == 'pending' and now < tonumber(ex) then
    sn, sr = tonumber(sn), tonumber(sr)
    if sn - sr >= tonumber(ARGV[12]) then
      return {'max_sends', existing, sn}
    end
    sn = sn + 1
    redis.call('HSET', key, 'a' .. sn, ARGV[4] .. '|' .. ARGV[1] .. '|queued|', 'sn', sn,
      'ch', ARGV[4], 'ua', ARGV[1])
    if ARGV[15] ~= '' then redis.call('HSET', key, 'sd', ARGV[15]) end
    if ARGV[16] == '1' then redis.call('HSET', key, 'cd', '1') end
    return {'resent', existing, sn}
  end
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
redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
return {'created', ARGV[2], 1}
