-- wrk script: GET paths of the Verify API in rotation, with Basic credentials.
-- Configured from the environment (set by bench/run.py):
--   BENCH_FILE     one path per line, e.g. /v2/Services/VA.../Verifications/VE...
--   BENCH_AUTH     the Authorization header value ("Basic ...")
--   BENCH_THREADS  wrk's -t, so threads interleave lines
--   BENCH_OFFSET   where to start in the rotation (a repeated run continues, not repeats)
-- Status counting: statuses.lua.
local file = os.getenv("BENCH_FILE")
local auth = os.getenv("BENCH_AUTH")
local stride = tonumber(os.getenv("BENCH_THREADS"))
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")

dofile(os.getenv("BENCH_LUA") .. "/statuses.lua")

local lines, counter
function init(args)
  lines = {}
  for path in io.lines(file) do
    table.insert(lines, wrk.format("GET", path, {["Authorization"] = auth}))
  end
  counter = offset + id
  count_statuses()
end

function request()
  local prepared = lines[(counter % #lines) + 1]
  counter = counter + stride
  return prepared
end
