-- wrk script: the seed's POST /api/update_status for a fleet of wearers, each request the next wearer's
-- watch (device token) in turn, so every shard and every wearer's state is exercised, not one hot row.
-- Device tokens come from the environment (VG_TOKENS, space-separated).
local tokens = {}
for t in string.gmatch(os.getenv("VG_TOKENS") or "", "%S+") do table.insert(tokens, t) end
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end

local next_index
local body = '{"heart_rate": 72, "respiration_rate": 16, "spo2": 98, "skin_temp": 33.5, "steps": 120, "calories": 12.0}'

function init(args)
  next_index = offset
end

function request()
  next_index = next_index + 1
  local token = tokens[(next_index % #tokens) + 1]
  -- wrk.format uses these headers instead of wrk.headers, so the content type goes here too.
  return wrk.format("POST", "/api/update_status",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format("update_status/s: %.0f over %d wearers (%d requests, %d non-2xx, %d socket errors)\n",
    summary.requests / (summary.duration / 1e6), #tokens, summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("latency p50 %.2f ms, p99 %.2f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
