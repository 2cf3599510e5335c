-- Shared by the wrk scripts (loaded with dofile): number the threads, count each thread's
-- response statuses, and print "status <code> <count>" lines at the end, so the caller can
-- report the status mix (wrk itself only counts "Non-2xx or 3xx responses").
-- A script calls count_statuses() from its init().
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function count_statuses()
  statuses = {}  -- a global: done() reads it from each thread with thread:get
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
