-- What the verification scripts share: scripts.py puts this file after each one's #!lua line.
-- A number's key (keys.number) is text, entries "\n<name>=<value>": a number's sends of the last
-- day ("+E164") and its verifications' records, each named by the last 24 digits of its sid (the
-- rest, "VE" and the tag, is the same for all of them); the number's newest verification's record
-- starts with "*". A record is all a verification answers, also once it has ended (keys.py's
-- legend); what only a pending one needs (its code, counters, call settings) is in its working
-- hash (keys.verification), which ends with it. A verification stored whole in that hash (the
-- older format, keys.py) is carried over into a record the first time a script reads it.

-- A verification's number key and sid, from the name of its working hash: <slot prefix>ve:<sid>,
-- the sid 34 characters ("VE" and 32 hex). Cut by position: a pattern that finds "ve:" costs a
-- call webhook's script a tenth of its time.
local function verification_of(key)
  return string.sub(key, 1, -38) .. 'number', string.sub(key, -34)
end

-- The name of a verification's record (sids.record_name: the sid after "VE" and the 8 digits of
-- the tag), and back: the sid from the name and a slot prefix (keys.slot_prefix), whose tag leads
-- every sid of the number.
local function name_of(sid)
  return string.sub(sid, 11)
end
local function sid_of(prefix, name)
  return 'VE' .. string.match(prefix, ':(%x+)}:$') .. name
end

-- The sid of the number's newest verification (where resends and checks by To go), or nil.
local function newest(text, prefix, to)
  local at = string.find(text, '=*' .. to .. '|', 1, true)
  return at and sid_of(prefix, string.sub(text, at - 24, at - 1))
end

-- The value of entry `name` in a number's text, or nil.
local function entry(text, name)
  local at = string.find(text, '\n' .. name .. '=', 1, true)
  if not at then return nil end
  local from = at + #name + 2
  local stop = string.find(text, '\n', from, true)
  return string.sub(text, from, stop and stop - 1 or -1)
end

-- The text with entry `name` set to `value` (nil: removed), in its place.
local function with_entry(text, name, value)
  local at = string.find(text, '\n' .. name .. '=', 1, true)
  local rest = ''
  if at then
    local stop = string.find(text, '\n', at + 1, true)
    rest = stop and string.sub(text, stop) or ''
    text = string.sub(text, 1, at - 1)
  end
  if value == nil then return text .. rest end
  return text .. '\n' .. name .. '=' .. value .. rest
end

-- A record as a table: its fields by name, and its attempts (`attempts(r)`) read only when a
-- script needs them, since a check, most of what Redis runs, never does. One pattern reads the
-- fields: far cheaper in Redis's Lua than splitting piece by piece.
local FIELDS = '^(%*?)([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)(.*)$'
local ATTEMPT = '^([^,]*),?([^,]*),?([^,]*),?([^,]*),?([^,]*),?([^,]*),?([^,]*),?([^,]*)$'
local function record_of(text)
  local mark, to, ch, st, ca, ua, ex, lc, ck, fr, rest = string.match(text, FIELDS)
  return {newest = mark == '*', to = to, ch = ch, st = st, ca = tonumber(ca), ua = tonumber(ua), ex = tonumber(ex),
          lc = lc, ck = tonumber(ck), fr = fr, rest = rest}
end

-- The record's attempts, each a table of its fields; read before `ch` changes, since an
-- attempt's empty channel is the record's.
local function attempts(r)
  if not r.attempts then
    r.attempts = {}
    for entry in string.gmatch(r.rest, '|([^|]*)') do
      local n, channel, t, status, err, call, answered, outcome = string.match(entry, ATTEMPT)
      table.insert(r.attempts, {n = tonumber(n), channel = channel ~= '' and channel or r.ch, t = tonumber(t),
                                status = status, error = err, call = call, answered = answered, outcome = outcome})
    end
  end
  return r.attempts
end

local function text_of(r)
  local rest = r.rest
  if r.attempts then
    local p = {}
    for _, a in ipairs(r.attempts) do
      local f = {a.n, a.channel ~= r.ch and a.channel or '', a.t, a.status, a.error, a.call, a.answered, a.outcome}
      local last = #f
      while last > 4 and f[last] == '' do last = last - 1 end
      table.insert(p, '|' .. table.concat(f, ',', 1, last))
    end
    rest = table.concat(p)
  end
  return (r.newest and '*' or '') .. r.to .. '|' .. r.ch .. '|' .. r.st .. '|' .. r.ca .. '|' .. r.ua .. '|' .. r.ex
    .. '|' .. r.lc .. '|' .. r.ck .. '|' .. r.fr .. rest
end

-- The text with the record of `sid` set to `r` (nil: removed).
local function with_record(text, sid, r)
  return with_entry(text, name_of(sid), r and text_of(r))
end

-- A send attempt on a record (its fields by name), with its index.
local function new_attempt(n, channel, t)
  return {n = n, channel = channel, t = t, status = 'queued', error = '', call = '', answered = '', outcome = ''}
end

-- Attempt n of a record, and its place in the list.
local function attempt(r, n)
  n = tonumber(n)
  for i, a in ipairs(attempts(r)) do
    if a.n == n then return a, i end
  end
  return nil
end

-- When the code expires, in epoch seconds (what a check compares "now" with), and as text.
local function expiry(r)
  return r.ca + r.ex
end
local function expires(r)
  return tostring(expiry(r))
end

-- The record ends with `status` at `now`.
local function finish(r, status, now)
  r.st, r.ua = status, math.floor(now) - r.ca
end

-- The record ends by expiry: updated when its code expired.
local function expire(r)
  r.st, r.ua = 'expired', r.ex
end

-- What a record field may not hold: the separators of the text it is kept in.
local function plain(value)
  return (string.gsub(value or '', '[\n=|,]', ''))
end

-- A verification stored whole in its hash (keys.py's legend of that format), carried over: its
-- record goes into the number's text; a pending one's hash keeps only the working fields, until
-- a minute after its code expires. Returns the text, the record, and the seconds the number's key
-- must still live to keep the record as long as the hash would have been kept.
local PUBLIC = {'sid', 'to', 'ch', 'st', 'ca', 'ua', 'ex', 'lc', 'ck', 'fr'}
local function carry_over(text, sid, key)
  local raw = redis.call('HGETALL', key)
  local old = {}
  for i = 1, #raw, 2 do old[raw[i]] = raw[i + 1] end
  if not old.st then return text, nil, 0 end
  local ca = math.floor(tonumber(old.ca))
  local r = {to = old.to, ch = old.ch, st = old.st, ca = ca, ua = math.floor(tonumber(old.ua)) - ca,
             ex = math.floor(tonumber(old.ex)) - ca, lc = old.lc or 'en', ck = tonumber(old.ck or '0'),
             fr = old.fr == '1' and '1' or '', rest = '', attempts = {}}
  local gone = {}
  for _, name in ipairs(PUBLIC) do table.insert(gone, name) end
  for n = 1, tonumber(old.sn or '0') do
    for _, prefix in ipairs({'a', 'c', 'm', 'o'}) do table.insert(gone, prefix .. n) end
    local stored = old['a' .. n]
    if stored then
      local channel, time, status, err = string.match(stored, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
      local a = new_attempt(n, channel, math.floor(tonumber(time)) - ca)
      a.status, a.error, a.call = status, plain(err), old['c' .. n] or ''
      a.answered, a.outcome = plain(old['m' .. n]), old['o' .. n] or ''
      table.insert(r.attempts, a)
    end
  end
  -- Such a hash was kept its code's lifetime and a day and a minute more (FINAL_RETENTION_SECONDS):
  -- what it has left, less the day, is what its working fields still need.
  local ttl = redis.call('TTL', key)
  local working = ttl - 86400
  if r.st == 'pending' and working > 0 then
    redis.call('HDEL', key, unpack(gone))
    redis.call('EXPIRE', key, working)
  else
    redis.call('DEL', key)
  end
  -- (Every such hash has a TTL; one without would give the record a day.)
  return with_record(text, sid, r), r, ttl > 0 and ttl or 86400 + 60
end

-- The record of `sid` (nil when there is none), from the number's text or carried over from its
-- hash (`key`); returns the text, the record and the seconds the number's key must still live.
local function load(text, sid, key)
  local record = entry(text, name_of(sid))
  if record then return text, record_of(record), 0 end
  return carry_over(text, sid, key)
end

-- Store the number's text (removed when empty), living at least `need` more seconds; `need` 0
-- when the text came from the key, which keeps its TTL.
local function save(key, text, need)
  if text == '' then
    redis.call('DEL', key)
    return
  end
  if need <= 0 then
    redis.call('SET', key, text, 'KEEPTTL')
    return
  end
  local ttl = redis.call('TTL', key)
  redis.call('SET', key, text, 'KEEPTTL')
  if ttl < need then redis.call('EXPIRE', key, need) end
end
