#!lua
-- Settle a pending phone challenge by its verification's outcome; approved, its factor becomes
-- verified, and the entity's default when it has none (as factor_update.lua's first verified
-- factor does), in one step. A challenge that ended, or belongs to another verification, is left.
-- KEYS[1] the challenge (hash)   KEYS[2] the entity (hash)
-- ARGV: 1 now (epoch s), 2 the challenge's status: approved | denied | expired, 3 the
--       verification's sid, 4 the verification's status (kept as vr), 5 the entity's key prefix
--       (the factor is prefix .. 'f:' .. sid)
-- Returns {'settled'}, {'missing'} (no such challenge: its entity was deleted), {'foreign'}, or
-- {status} of a challenge that had ended
local status, factor, verification = unpack(redis.call('HMGET', KEYS[1], 'st', 'fa', 'vs'))
if not status then return {'missing'} end
if verification ~= ARGV[3] then return {'foreign'} end
if status ~= 'pending' then return {status} end
local responded = ARGV[2] == 'expired' and '' or ARGV[1]
redis.call('HSET', KEYS[1], 'st', ARGV[2], 'ra', responded, 'ua', ARGV[1], 'vr', ARGV[4])
if ARGV[2] == 'approved' then
  local key = ARGV[5] .. 'f:' .. factor
  if redis.call('HGET', key, 'st') == 'unverified' then
    redis.call('HSET', key, 'st', 'verified', 'ua', ARGV[1])
  end
  if redis.call('HGET', key, 'st') == 'verified' and redis.call('HGET', KEYS[2], 'df') == '' then
    redis.call('HSET', KEYS[2], 'df', factor)
  end
end
return {'settled'}
