-- wrk script: POST a form to telverify's Verify API, a different `To` on every request.
-- Configured from the environment (set by bench/run.py):
--   BENCH_PATH     request path, e.g. /v2/Services/VA.../VerificationCheck
--   BENCH_AUTH     the Authorization header value ("Basic ...")
--   BENCH_PREFIX   the number's fixed part, e.g. +447401 (six digits follow)
--   BENCH_COUNT    how many numbers to rotate through (check) or a large bound (create)
--   BENCH_EXTRA    the rest of the form, e.g. &Code=000000 or &Channel=sms
--   BENCH_THREADS  wrk's -t, so threads interleave numbers and never send the same one
--   BENCH_OFFSET   where to start in the rotation (a repeated run continues, not repeats)
-- Status counting: statuses.lua.
local path = os.getenv("BENCH_PATH")
local auth = os.getenv("BENCH_AUTH")
local prefix = os.getenv("BENCH_PREFIX")
local count = tonumber(os.getenv("BENCH_COUNT"))
local extra = os.getenv("BENCH_EXTRA")
local stride = tonumber(os.getenv("BENCH_THREADS"))
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")

dofile(os.getenv("BENCH_LUA") .. "/statuses.lua")

local headers = {
  ["Authorization"] = auth,
  ["Content-Type"] = "application/x-www-form-urlencoded",
}

local function format(n)
  -- "+" is "%2B" in a form; the six-digit suffix keeps every number in one valid UK mobile block.
  return wrk.format("POST", path, headers, "To=%2B" .. prefix:sub(2) .. string.format("%06d", n % count) .. extra)
end

-- Checks rotate through a few thousand numbers: their requests are formatted once, up front, so
-- that wrk spends per request what it spends on the baseline's (a prepared request), not a
-- string.format and a wrk.format more. Creates take a new number each time (count is large).
local PREPARE_AT_MOST = 50000
local counter, prepared
function init(args)
  counter = offset + id
  count_statuses()
  if count <= PREPARE_AT_MOST then
    prepared = {}
    for n = 0, count - 1 do prepared[n] = format(n) end
  end
end

function request()
  local n = counter
  counter = counter + stride
  if prepared then return prepared[n % count] end
  return format(n)
end
