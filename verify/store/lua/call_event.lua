#!lua
-- Record what Twilio reports about a call on its send attempt: progress, who answered, outcome.
-- Webhooks may come twice, late or out of order: the call status only moves forward, and the
-- first outcome (approved, code read, busy...) stands, so a late 'completed' never hides it.
-- KEYS[1] the verification's working hash; its number's key and its sid are read from its name
-- (keys.py), in its slot, so that the caller, every moment of every call, builds one key
-- ARGV: 1 attempt index, 2 CallSid, 3 call status or '', 4 answered-by or '', 5 outcome or '',
--       6 'turn' for the reply a TwiML webhook reads, else the whole verification
-- Returns {result, record, sc}, or with 'turn' {result, channel, st, ex, to, lc, fn, sc, m<n>}
-- (false where a field is unset; model.CallTurn, as decide_by_call.lua answers too): handing
-- all of a verification's fields to Lua and back would be most of what this script costs Redis.
-- result: missing | foreign (another call's) | recorded
local number, sid = verification_of(KEYS[1])
local text = redis.call('GET', number) or ''
local original, r, need = text, nil, 0
text, r, need = load(text, sid, KEYS[1])
local a = r and attempt(r, ARGV[1])
local result = 'missing'
if a and a.call ~= '' and a.call ~= ARGV[2] then
  result = 'foreign'
elseif a then
  result = 'recorded'
  local changed = a.call == ''
  a.call = ARGV[2]
  if ARGV[3] ~= '' then
    local rank = {queued = 0, initiated = 1, ringing = 2, ['in-progress'] = 3,
                  completed = 4, busy = 4, ['no-answer'] = 4, failed = 4, canceled = 4}
    if rank[ARGV[3]] and rank[ARGV[3]] > (rank[a.status] or 0) then a.status, changed = ARGV[3], true end
  end
  if ARGV[4] ~= '' and a.answered == '' then a.answered, changed = ARGV[4], true end
  if ARGV[5] ~= '' and a.outcome == '' then a.outcome, changed = ARGV[5], true end
  -- Most moments of a call change nothing: the record is written only when they do.
  if changed then text = with_record(text, sid, r) end
end
if text ~= original then save(number, text, need) end
if result ~= 'recorded' then return {result} end
if ARGV[6] == 'turn' then
  local fn, sc = unpack(redis.call('HMGET', KEYS[1], 'fn', 'sc'))
  return {result, a.channel, r.st, expires(r), r.to, r.lc, fn, sc, a.answered ~= '' and a.answered}
end
return {result, text_of(r), redis.call('HGET', KEYS[1], 'sc')}
