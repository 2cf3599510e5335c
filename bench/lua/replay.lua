-- wrk script: requests prepared by bench/run.py (and signed by bench/webhooks.py), in rotation.
-- Configured from the environment (set by bench/run.py):
--   BENCH_FILE     one request per line: "path<TAB>form body<TAB>X-Twilio-Signature" (a webhook,
--                  POSTed), "path<TAB>form body<TAB>" (an API call, POSTed with BENCH_AUTH),
--                  "path<TAB>form body<TAB><TAB>none" (a browser's form, POSTed without
--                  credentials), or a path alone (GET, with BENCH_AUTH)
--   BENCH_AUTH     the Authorization header value of the API calls ("Basic ...")
--   BENCH_THREADS  wrk's -t, so threads interleave lines and never send the same one together
--   BENCH_OFFSET   where to start in the rotation (a repeated run continues, not repeats)
-- Status counting: statuses.lua.
local file = os.getenv("BENCH_FILE")
local auth = os.getenv("BENCH_AUTH")
local stride = tonumber(os.getenv("BENCH_THREADS"))
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")

dofile(os.getenv("BENCH_LUA") .. "/statuses.lua")

local lines, prepared, counter

-- The tab-separated fields of a line. Plain finds, not a pattern: a pattern that fails on a
-- line of a few kilobytes (an Entra hint's form) backtracks along it.
local function fields(line)
  local parts, first = {}, 1
  while true do
    local tab = line:find("\t", first, true)
    if not tab then
      table.insert(parts, line:sub(first))
      return parts
    end
    table.insert(parts, line:sub(first, tab - 1))
    first = tab + 1
  end
end

local FORM = "application/x-www-form-urlencoded"

local function format(line)
  local path, body, signature, mode = unpack(fields(line))
  if body == nil then
    return wrk.format("GET", path, {["Authorization"] = auth})
  elseif mode == "none" then
    return wrk.format("POST", path, {["Content-Type"] = FORM}, body)
  elseif signature ~= "" then
    return wrk.format("POST", path, {["Content-Type"] = FORM, ["X-Twilio-Signature"] = signature}, body)
  end
  return wrk.format("POST", path, {["Content-Type"] = FORM, ["Authorization"] = auth}, body)
end

-- Each thread keeps the lines it sends (every stride-th), and formats a request when it first
-- sends it. wrk runs a thread's init in its main thread, at its priority, after the threads
-- before it have started sending: formatting a whole file of Entra hints there (tens of
-- megabytes) would take a core from the server for a tenth of a second of the measured run.
function init(args)
  lines, prepared = {}, {}
  local index, mine = 0, (offset + id) % stride
  for line in io.lines(file) do
    if index % stride == mine then
      table.insert(lines, line)
    end
    index = index + 1
  end
  counter = math.floor((offset + id) / stride)
  if #lines == 0 then  -- fewer lines than threads: every thread sends them all
    for line in io.lines(file) do table.insert(lines, line) end
  end
  count_statuses()
end

function request()
  local at = (counter % #lines) + 1
  counter = counter + 1
  local request = prepared[at]
  if request == nil then
    request = format(lines[at])
    prepared[at] = request
  end
  return request
end
