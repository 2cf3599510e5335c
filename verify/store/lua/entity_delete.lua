#!lua
-- Delete an entity with its factors and its challenges.
-- KEYS[1] the entity (hash)   KEYS[2] its factors (sorted set)   KEYS[3] its challenges (sorted set)
-- ARGV: 1 the entity's key prefix (a factor is prefix .. 'f:' .. sid, a challenge prefix .. 'c:' ..
--       sid, in KEYS' slot)
-- Returns 1, or 0 when there was no such entity
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do redis.call('DEL', ARGV[1] .. 'f:' .. sid) end
for _, sid in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do redis.call('DEL', ARGV[1] .. 'c:' .. sid) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
