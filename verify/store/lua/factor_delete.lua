#!lua
-- Delete a factor. When it was the entity's default, the next verified factor in creation order
-- becomes the default (none when there is none).
-- KEYS[1] the entity (hash)   KEYS[2] its factors (sorted set)   KEYS[3] the factor (hash)
-- ARGV: 1 the factor's sid, 2 the entity's key prefix (a factor is prefix .. 'f:' .. sid), 3 now
-- Returns 1, or 0 when there was no such factor
if redis.call('DEL', KEYS[3]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'df') == ARGV[1] then
  local successor = ''
  for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if redis.call('HGET', ARGV[2] .. 'f:' .. sid, 'st') == 'verified' then
      successor = sid
      break
    end
  end
  redis.call('HSET', KEYS[1], 'df', successor, 'ua', ARGV[3])
end
return 1
