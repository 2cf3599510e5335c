#!lua
-- Create a challenge of a verified factor and, given a code, approve it when the code matched a
-- time-step counter above every one the factor accepted before (a code is accepted once).
-- Trims the entity's challenges: those ended longer than the retention ago, and beyond the cap.
-- KEYS[1] the factor (hash)   KEYS[2] the entity's challenges (sorted set)   KEYS[3] the challenge
-- KEYS[4] the entity (hash)
-- ARGV: 1 the challenge's sid, 2 the factor's sid, 3 now (epoch s), 4 when it expires (epoch s),
--       5 the counter the code matched ('' for no code, -1 when it matched none),
--       6 retention (s) after it expires, 7 most challenges kept per entity, 8 details (JSON or ''),
--       9 hidden details (JSON or ''), 10 the entity's key prefix (a challenge is prefix .. 'c:' .. sid),
--       11 '1' when an unverified factor may be challenged (a phone factor: its first challenge
--       proves it), 12 the factor's seed and settings the counter was found with, "sv|sd|ts|cl|sk|al"
--       ('' when the caller read them in this request), 13... the challenge's own fields by type
--       (ty, ch, vs): field, value, ...
-- Returns {status, the entity's sid, created, updated, default factor}: status 'approved' or
-- 'pending'; or {'no_factor'}, {'unverified'}, or {'stale'} when the factor's seed or settings are
-- no longer those of ARGV[12] (the caller reads them and finds the counter again)
local status, last, sv, sd, ts, cl, sk, al = unpack(redis.call('HMGET', KEYS[1], 'st', 'lc', 'sv', 'sd', 'ts', 'cl',
                                                               'sk', 'al'))
if not status then return {'no_factor'} end
if ARGV[12] ~= '' and ARGV[12] ~= table.concat({sv or '', sd or '', ts or '', cl or '', sk or '', al or ''}, '|') then
  return {'stale'}
end
if status ~= 'verified' and ARGV[11] ~= '1' then return {'unverified'} end
local now, expires, keep = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
-- A challenge lives at most an hour; one created longer than an hour and the retention ago is over.
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - keep - 3600))
local excess = redis.call('ZCARD', KEYS[2]) - #stale - tonumber(ARGV[7]) + 1
if excess > 0 then
  for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], #stale, #stale + excess - 1)) do table.insert(stale, sid) end
end
for _, sid in ipairs(stale) do
  redis.call('DEL', ARGV[10] .. 'c:' .. sid)
  redis.call('ZREM', KEYS[2], sid)
end
local result, responded, attempts = 'pending', '', 0
if ARGV[5] ~= '' then
  attempts = 1
  if tonumber(ARGV[5]) >= 0 and tonumber(ARGV[5]) > tonumber(last) then
    result, responded = 'approved', ARGV[3]
    redis.call('HSET', KEYS[1], 'lc', ARGV[5])
  end
end
redis.call('HSET', KEYS[3], 'sid', ARGV[1], 'fa', ARGV[2], 'st', result, 'ca', ARGV[3], 'ua', ARGV[3],
           'ra', responded, 'ex', ARGV[4], 'at', attempts, 'dt', ARGV[8], 'hd', ARGV[9])
if #ARGV >= 13 then redis.call('HSET', KEYS[3], unpack(ARGV, 13)) end
redis.call('EXPIRE', KEYS[3], math.ceil(expires - now + keep))
redis.call('ZADD', KEYS[2], now, ARGV[1])
local entity_sid, created, updated, default = unpack(redis.call('HMGET', KEYS[4], 'sid', 'ca', 'ua', 'df'))
return {result, entity_sid, created, updated, default or ''}
