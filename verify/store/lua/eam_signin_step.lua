#!lua
-- Change an open sign-in that Entra still waits for: the method in use, or a wrong code counted.
-- KEYS[1] the sign-in (hash)
-- ARGV: 1 now (epoch s), 2 '1' to count a wrong code, 3... fields to set, name and value pairs
-- Returns {'ok', wrong codes so far}, {'missing'}, {'answered'} or {'expired'}
local status, expires = unpack(redis.call('HMGET', KEYS[1], 'st', 'ex'))
if not status then return {'missing'} end
if status ~= 'open' then return {'answered'} end
if tonumber(expires) <= tonumber(ARGV[1]) then return {'expired'} end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
local wrong = ARGV[2] == '1' and redis.call('HINCRBY', KEYS[1], 'wc', 1) or (redis.call('HGET', KEYS[1], 'wc') or 0)
return {'ok', tostring(wrong)}
