-- wrk script: GET /api/traces/{id} for ids read from the file named by env TRACE_IDS (one per line).
local ids = {}
local f = io.open(os.getenv("TRACE_IDS"), "r")
for line in f:lines() do ids[#ids + 1] = line end
f:close()
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/traces/" .. ids[math.random(#ids)])
end
