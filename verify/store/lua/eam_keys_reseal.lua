#!lua
-- Seal a signing key again under the current SECRET_KEY, unless it changed meanwhile (another
-- process resealed it first, or a rollover replaced the keys).
-- KEYS[1] the signing keys (hash)
-- ARGV: 1 kid, 2 the sealed key as it was read, 3 the same key sealed again
-- Returns 1 when stored, 0 when the stored value was no longer the one read
if redis.call('HGET', KEYS[1], ARGV[1] .. ':k') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1] .. ':k', ARGV[3])
return 1
