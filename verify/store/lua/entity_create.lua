#!lua
-- Create an entity unless its identity is taken in its service.
-- KEYS[1] the entity (hash)
-- ARGV: 1 sid (YE), 2 now (epoch s)
-- Returns 1 when created, 0 when the identity exists
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'ca', ARGV[2], 'ua', ARGV[2], 'df', '', 'sq', 0)
return 1
