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

local lines, counter
function init(args)
  lines = {}
  for line in io.lines(file) do
    local path, body, signature = line:match("^([^\t]+)\t([^\t]*)\t([^\t]*)$")
    local bare_path, bare_body = line:match("^([^\t]+)\t([^\t]*)\t\tnone$")
    if bare_path then
      table.insert(lines, wrk.format("POST", bare_path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
      }, bare_body))
    elseif path and signature ~= "" then
      table.insert(lines, wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body))
    elseif path then
      table.insert(lines, wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["Authorization"] = auth,
      }, body))
    else
      table.insert(lines, wrk.format("GET", line, {["Authorization"] = auth}))
    end
  end
  counter = offset + id
  count_statuses()
end

function request()
  local prepared = lines[(counter % #lines) + 1]
  counter = counter + stride
  return prepared
end
