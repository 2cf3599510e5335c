#!lua
-- Change a factor, and verify it with a code: the attempts, the replay check and the change in
-- one step. The first factor of an entity to be verified becomes its default (telverify's).
-- KEYS[1] the entity (hash)   KEYS[2] the factor (hash)
-- ARGV: 1 the factor's sid, 2 now (epoch s), 3 the time-step counter the code matched ('' for no
--       code, -1 when it matched none), 4 most wrong codes, 5... fields to change: field, value, ...
-- Returns {'ok'}, {'missing'} or {'max'} (the factor took its wrong codes: nothing changed)
local status, attempts, last = unpack(redis.call('HMGET', KEYS[2], 'st', 'at', 'lc'))
if not status then return {'missing'} end
if ARGV[3] ~= '' and status == 'unverified' then
  if tonumber(attempts) >= tonumber(ARGV[4]) then return {'max'} end
  local counter = tonumber(ARGV[3])
  if counter >= 0 and counter > tonumber(last) then
    redis.call('HSET', KEYS[2], 'st', 'verified', 'lc', ARGV[3])
    if (redis.call('HGET', KEYS[1], 'df') or '') == '' then redis.call('HSET', KEYS[1], 'df', ARGV[1]) end
  else
    redis.call('HINCRBY', KEYS[2], 'at', 1)
  end
end
if #ARGV >= 5 then redis.call('HSET', KEYS[2], unpack(ARGV, 5)) end
redis.call('HSET', KEYS[2], 'ua', ARGV[2])
return {'ok'}
