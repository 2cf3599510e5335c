#!lua
-- Open a sign-in with the id_token_hint that asked for it, unless that hint has been spent.
-- KEYS[1] the hint's mark (string)   KEYS[2] the sign-in (hash)
-- ARGV: 1 how long the hint's mark lasts (s), 2 how long the sign-in's hash lasts (s),
--       3... the sign-in's fields, name and value pairs
-- Returns 'opened', or 'replayed' when the hint opened a sign-in before
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return 'replayed' end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 'opened'
