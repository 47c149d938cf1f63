-- wrk script: POST /api/devices/readings with 1000 readings per request, timestamps moving forward.
-- Device tokens come from the environment (VG_TOKENS, space-separated); each wrk thread is one watch.
local tokens = {}
for t in string.gmatch(os.getenv("VG_TOKENS") or "", "%S+") do table.insert(tokens, t) end
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("token", tokens[((counter - 1) % #tokens) + 1])
  thread:set("id", counter)
  table.insert(threads, thread)
end

local base_ms
local batch = 0

function init(args)
  -- 29 days ago: inside the server's 30-day acceptance window, room for many batches at 1 reading/s.
  base_ms = (os.time() - 29 * 24 * 3600) * 1000
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  local parts = {}
  for i = 0, 999 do
    local t = base_ms + (batch * 1000 + i) * 1000
    parts[#parts + 1] = string.format(
      '{"timestamp":%d,"heart_rate":%d,"respiration_rate":%d,"spo2":%d,"skin_temp":33.%d,"steps":%d,"calories":1.1}',
      t, 66 + (i % 9), 14 + (i % 3), 96 + (i % 3), i % 10, (i % 7) * 3)
  end
  batch = batch + 1
  return wrk.format("POST", "/api/devices/readings", nil, '{"readings":[' .. table.concat(parts, ",") .. ']}')
end

function done(summary, latency, requests)
  io.write(string.format("readings/s: %.0f (1000 readings per request, %d requests, %d errors)\n",
    summary.requests * 1000 / (summary.duration / 1e6), summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
