#!lua
-- Answer a sign-in, once: the first answer wins, and no sign-in is answered twice. An approval
-- is refused once Entra has given up waiting (the sign-in's `ex`); an error may still be posted.
-- KEYS[1] the sign-in (hash)
-- ARGV: 1 now (epoch s), 2 the answer: approved, or an OIDC error code
-- Returns {'answered', field, value, ...} (the sign-in, as answered), {'missing'}, {'expired'},
-- or {'refused'} when it had been answered before
local status, expires = unpack(redis.call('HMGET', KEYS[1], 'st', 'ex'))
if not status then return {'missing'} end
if status ~= 'open' then return {'refused'} end
if ARGV[2] == 'approved' and tonumber(expires) <= tonumber(ARGV[1]) then return {'expired'} end
redis.call('HSET', KEYS[1], 'st', 'answered', 'an', ARGV[2])
local reply = {'answered'}
for _, item in ipairs(redis.call('HGETALL', KEYS[1])) do reply[#reply + 1] = item end
return reply
