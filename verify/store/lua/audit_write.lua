#!lua
-- Write an admin action to the audit log and to the indexes of its account, service and number,
-- and drop what has left the retention from the log and from every index that holds it.
-- KEYS[1] the audit log (sorted set scored by time); its indexes share its {audit} hash tag
-- ARGV: 1 the entry (compact JSON: the same member in every set), 2 its time, 3 the oldest time
--       kept, 4 TTL s of each set written (a clean-up of what no write reaches again),
--       5 the indexes' key prefix (an index is ARGV[5] .. kind .. ':' .. value),
--       6 the most entries dropped in one write
-- Returns the number of entries dropped
local prefix = ARGV[5]
local kinds = {'account', 'service', 'tag'}
-- A bounded batch keeps each write short. Steadily, an entry leaves the retention for each one
-- written; a backlog (a shortened retention) goes over the next writes, and no read reaches it.
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3], 'LIMIT', 0, tonumber(ARGV[6]))
for _, member in ipairs(expired) do
  local old = cjson.decode(member)
  for _, kind in ipairs(kinds) do
    if old[kind] then redis.call('ZREM', prefix .. kind .. ':' .. old[kind], member) end
  end
  redis.call('ZREM', KEYS[1], member)
end
local entry = cjson.decode(ARGV[1])
local written = {KEYS[1]}
for _, kind in ipairs(kinds) do
  if entry[kind] then table.insert(written, prefix .. kind .. ':' .. entry[kind]) end
end
for _, key in ipairs(written) do
  redis.call('ZADD', key, ARGV[2], ARGV[1])
  redis.call('EXPIRE', key, ARGV[4])
end
return #expired
