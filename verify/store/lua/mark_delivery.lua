#!lua
-- Record a delivery report on a send attempt. Reports may come twice or out of order:
-- a status only ever moves forward, so a late 'sent' never hides 'delivered' or 'failed'.
-- KEYS[1] the number's key (record.lua)   KEYS[2] the verification's working hash
-- ARGV: 1 attempt index, 2 status, 3 error code, 4 the verification's sid
-- Returns 1 when the attempt changed, 0 otherwise.
local rank = {queued = 0, accepted = 0, sending = 1, sent = 1, delivered = 2, undelivered = 3, failed = 3}
local text = redis.call('GET', KEYS[1]) or ''
local original, r, need = text, nil, 0
text, r, need = load(text, ARGV[4], KEYS[2])
local changed = 0
local a = r and attempt(r, ARGV[1])
if a and rank[ARGV[2]] and rank[ARGV[2]] > (rank[a.status] or 0) then
  a.status, a.error = ARGV[2], ARGV[3]
  text = with_record(text, ARGV[4], r)
  changed = 1
end
if text ~= original then save(KEYS[1], text, need) end
return changed
