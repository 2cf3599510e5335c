#!lua
-- Take back a send attempt the carrier did not accept, so it does not use up the person's sends.
-- KEYS[1] the number's key (record.lua)   KEYS[2] the verification's working hash
-- KEYS[3] the number's state in its older format (keys.latest)
-- ARGV: 1 attempt index, 2 '1' when the carrier refused the number for good, 3 the verification's
--       sid
-- A verification whose only send was refused for good is removed, as Verify creates none.
-- Returns the number of sends still standing.
local sid = ARGV[3]
local text = redis.call('GET', KEYS[1]) or ''
local original, r, need = text, nil, 0
text, r, need = load(text, sid, KEYS[2])
local _, index
if r then _, index = attempt(r, ARGV[1]) end
if not index then
  if text ~= original then save(KEYS[1], text, need) end
  return -1
end
table.remove(attempts(r), index)
local standing = #attempts(r)
local sn = redis.call('HGET', KEYS[2], 'sn')
if sn then standing = tonumber(sn) - redis.call('HINCRBY', KEYS[2], 'sr', 1) end
if standing == 0 and ARGV[2] == '1' and r.st == 'pending' then
  text = with_record(text, sid, nil)
  redis.call('DEL', KEYS[2])
  -- The number is left with no newest verification, as if none had started; the send stays in
  -- its log: a number that keeps failing keeps counting.
  if redis.call('HGET', KEYS[3], 'sid') == sid then redis.call('HDEL', KEYS[3], 'sid') end
else
  text = with_record(text, sid, r)
end
if text ~= original then save(KEYS[1], text, need) end
return standing
