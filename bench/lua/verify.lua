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

local counter
function init(args)
  counter = offset + id
  count_statuses()
end

local headers = {
  ["Authorization"] = auth,
  ["Content-Type"] = "application/x-www-form-urlencoded",
}

function request()
  -- "+" is "%2B" in a form; the six-digit suffix keeps every number in one valid UK mobile block.
  local number = prefix:sub(2) .. string.format("%06d", counter % count)
  counter = counter + stride
  return wrk.format("POST", path, headers, "To=%2B" .. number .. extra)
end
