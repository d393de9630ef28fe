-- wrk script: GET /api/traces/{id} for ids read from the file named by env TRACE_IDS (one per line);
-- with env TRACE_PREFIX=/traces/, the UI's trace page instead.
local ids = {}
local f = io.open(os.getenv("TRACE_IDS"), "r")
for line in f:lines() do ids[#ids + 1] = line end
f:close()
math.randomseed(42)
request = function()
  return wrk.format("GET", (os.getenv("TRACE_PREFIX") or "/api/traces/") .. ids[math.random(#ids)])
end
