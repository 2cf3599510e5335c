#!lua
-- Record what Twilio reports about a call on its send attempt: progress, who answered, outcome.
-- Webhooks may come twice, late or out of order: the call status only moves forward, and the
-- first outcome (approved, code read, busy...) stands, so a late 'completed' never hides it.
-- KEYS[1] the verification
-- ARGV: 1 attempt index, 2 CallSid, 3 call status or '', 4 answered-by or '', 5 outcome or '',
--       6 'turn' for the reply a TwiML webhook reads, else the whole verification
-- Returns {result, HGETALL...}, or with 'turn' {result, channel, st, ex, to, lc, fn, sc, m<n>}
-- (false where a field is unset; model.CallTurn, as decide_by_call.lua answers too): handing
-- all of a verification's fields to Lua and back is most of what this script costs Redis.
-- result: missing | foreign (another call's) | recorded
local rank = {queued = 0, initiated = 1, ringing = 2, ['in-progress'] = 3,
  completed = 4, busy = 4, ['no-answer'] = 4, failed = 4, canceled = 4}
local n = ARGV[1]
local attempt = redis.call('HGET', KEYS[1], 'a' .. n)
if not attempt then return {'missing'} end
local bound = redis.call('HGET', KEYS[1], 'c' .. n)
if bound and bound ~= ARGV[2] then return {'foreign'} end
if not bound then redis.call('HSET', KEYS[1], 'c' .. n, ARGV[2]) end
local channel, time, status, err = string.match(attempt, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
if rank[ARGV[3]] and rank[ARGV[3]] > (rank[status] or 0) then
  redis.call('HSET', KEYS[1], 'a' .. n, channel .. '|' .. time .. '|' .. ARGV[3] .. '|' .. err)
end
if ARGV[4] ~= '' then redis.call('HSETNX', KEYS[1], 'm' .. n, ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSETNX', KEYS[1], 'o' .. n, ARGV[5]) end
if ARGV[6] == 'turn' then
  local out = redis.call('HMGET', KEYS[1], 'st', 'ex', 'to', 'lc', 'fn', 'sc', 'm' .. n)
  table.insert(out, 1, channel)
  table.insert(out, 1, 'recorded')
  return out
end
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, 'recorded')
return out
