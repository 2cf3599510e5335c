-- wrk script for telverify's Verify endpoints. Configured by environment variables:
--   BENCH_PATH     the request path, e.g. /v2/Services/VA.../VerificationCheck
--   BENCH_AUTH     "Basic ..." header value
--   BENCH_KIND     "check" (To + a wrong Code) or "create" (To + Channel=sms)
--   BENCH_PREFIX   number prefix, e.g. +4474000 (five digits follow)
--   BENCH_COUNT    how many distinct numbers to rotate through
-- Each wrk thread walks its own stride of the numbers, so threads never collide.
local path = os.getenv("BENCH_PATH")
local auth = os.getenv("BENCH_AUTH")
local kind = os.getenv("BENCH_KIND")
local prefix = os.getenv("BENCH_PREFIX")
local count = tonumber(os.getenv("BENCH_COUNT"))

local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local counter = 0
local stride = 2
function init(args)
  counter = id
end

function request()
  local number = prefix .. string.format("%05d", counter % count)
  counter = counter + stride
  local body
  if kind == "check" then
    body = "To=%2B" .. number:sub(2) .. "&Code=000000"
  else
    body = "To=%2B" .. number:sub(2) .. "&Channel=sms"
  end
  return wrk.format("POST", path, {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
