-- wrk script: POST a form to telverify's Verify API, a different `To` on every request.
-- Configured from the environment (set by bench/run.py):
--   BENCH_PATH     request path, e.g. /v2/Services/VA.../VerificationCheck
--   BENCH_AUTH     the Authorization header value ("Basic ...")
--   BENCH_PREFIX   the number's fixed part, e.g. +447401 (six digits follow)
--   BENCH_COUNT    how many numbers to rotate through (check) or a large bound (create)
--   BENCH_EXTRA    the rest of the form, e.g. &Code=000000 or &Channel=sms
--   BENCH_THREADS  wrk's -t, so threads interleave numbers and never send the same one
--   BENCH_OFFSET   where to start in the rotation (a repeated run continues, not repeats)
-- done() prints "status <code> <count>" lines, so the caller can report the status mix
-- (wrk itself only counts "Non-2xx or 3xx responses").
local path = os.getenv("BENCH_PATH")
local auth = os.getenv("BENCH_AUTH")
local prefix = os.getenv("BENCH_PREFIX")
local count = tonumber(os.getenv("BENCH_COUNT"))
local extra = os.getenv("BENCH_EXTRA")
local stride = tonumber(os.getenv("BENCH_THREADS"))
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")

local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local counter
function init(args)
  counter = offset + id
  statuses = {}  -- a global: done() reads it from each thread with thread:get
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

function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d %d\n", status, n))
  end
end
