#!lua
-- Approve or cancel a pending verification on the application's word.
-- KEYS[1] the number's key (record.lua)   KEYS[2] the verification's working hash
-- ARGV: 1 now, 2 new status, 3 retention s, 4 the verification's sid
-- Returns {outcome, record}; outcome: missing | final | updated
local now = tonumber(ARGV[1])
local text = redis.call('GET', KEYS[1]) or ''
local original, r, need = text, nil, 0
text, r, need = load(text, ARGV[4], KEYS[2])
if not r then return {'missing'} end
local outcome = 'final'
if r.st == 'pending' then
  if now >= expiry(r) then
    expire(r)
  else
    finish(r, ARGV[2], now)
    outcome = 'updated'
  end
  text = with_record(text, ARGV[4], r)
  redis.call('DEL', KEYS[2])
  need = math.max(need, math.ceil(tonumber(ARGV[3]) + 60))
end
if text ~= original then save(KEYS[1], text, need) end
return {outcome, text_of(r)}
