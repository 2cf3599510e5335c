#!lua
-- Store the first signing key, unless there is one: of workers starting at once, one key wins.
-- KEYS[1] the signing keys (hash)
-- ARGV: 1 kid, 2 sealed private key, 3 certificate (DER, base64), 4 now (epoch s): when it is made
--       and signs from
-- Returns 1 when stored, 0 when a key was there already
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1] .. ':k', ARGV[2], ARGV[1] .. ':c', ARGV[3], ARGV[1] .. ':sf', ARGV[4],
           ARGV[1] .. ':dr', '', ARGV[1] .. ':ca', ARGV[4])
return 1
