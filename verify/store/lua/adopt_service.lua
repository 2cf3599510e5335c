#!lua
-- Give a service stored without an account its owner, unless it has one or is gone.
-- KEYS[1] the service   ARGV[1] the adopting account's sid
-- Returns the service's owner, or false when the service does not exist
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], 'account_sid', ARGV[1])
return redis.call('HGET', KEYS[1], 'account_sid')
