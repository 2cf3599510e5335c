#!lua
-- Record a delivery report on a send attempt. Reports may come twice or out of order:
-- a status only ever moves forward, so a late 'sent' never hides 'delivered' or 'failed'.
-- KEYS[1] the verification   ARGV: 1 attempt index, 2 status, 3 error code
-- Returns 1 when the attempt changed, 0 otherwise.
local rank = {queued = 0, accepted = 0, sending = 1, sent = 1, delivered = 2, undelivered = 3, failed = 3}
local field = 'a' .. ARGV[1]
local attempt = redis.call('HGET', KEYS[1], field)
if not attempt or not rank[ARGV[2]] then return 0 end
local channel, time, status = string.match(attempt, '^([^|]*)|([^|]*)|([^|]*)|')
if rank[ARGV[2]] <= (rank[status] or 0) then return 0 end
redis.call('HSET', KEYS[1], field, channel .. '|' .. time .. '|' .. ARGV[2] .. '|' .. ARGV[3])
return 1
