#!lua
-- Publish the next signing key: it signs from now + delay; the key signing now signs until then
-- and is dropped from the JWKS at now + 2 * delay. Keys whose drop time has passed are removed.
-- Refused while a rollover is under way (a key that does not sign yet).
-- KEYS[1] the signing keys (hash)
-- ARGV: 1 now (epoch s), 2 delay (s), 3 kid, 4 sealed private key, 5 certificate (DER, base64)
-- Returns {'published', signs from} or {'pending', the waiting key's kid}
local now, delay = tonumber(ARGV[1]), tonumber(ARGV[2])
local flat = redis.call('HGETALL', KEYS[1])
local signs, drops = {}, {}
for i = 1, #flat, 2 do
  local kid, field = string.match(flat[i], '^(.*):(%a+)$')
  if field == 'sf' then signs[kid] = tonumber(flat[i + 1]) end
  if field == 'dr' then drops[kid] = flat[i + 1] end
end
local current, current_from = nil, nil
for kid, from in pairs(signs) do
  if from > now then return {'pending', kid} end
  if drops[kid] ~= '' and tonumber(drops[kid]) <= now then
    redis.call('HDEL', KEYS[1], kid .. ':k', kid .. ':c', kid .. ':sf', kid .. ':dr', kid .. ':ca')
  elseif current_from == nil or from > current_from then
    current, current_from = kid, from
  end
end
if current then redis.call('HSET', KEYS[1], current .. ':dr', string.format('%.3f', now + 2 * delay)) end
local from = string.format('%.3f', now + delay)
redis.call('HSET', KEYS[1], ARGV[3] .. ':k', ARGV[4], ARGV[3] .. ':c', ARGV[5], ARGV[3] .. ':sf', from,
           ARGV[3] .. ':dr', '', ARGV[3] .. ':ca', ARGV[1])
return {'published', from}
