-- Shared by every wrk scenario: per-thread random seeds, the seeded data, non-2xx
-- counting across threads, and one machine-readable summary line for bench/wrk.py.
--
-- Environment (set by bench/wrk.py):
--   BENCH_DATA  path of a Lua file returning the seeded callers, products and login users

local M = {}

local threads = {}

function M.load_data()
  local path = os.getenv("BENCH_DATA")
  if path == nil or path == "" then
    return {}
  end
  return dofile(path)
end

function M.setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function M.init()
  math.randomseed(os.time() * 1000 + thread_number * 7919)
  non_2xx = 0
  first_bad_status = 0
  first_bad_body = ""
end

function M.pick(list)
  return list[math.random(#list)]
end

function M.response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    if first_bad_status == 0 then
      first_bad_status = status
      first_bad_body = string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(value)
  value = string.gsub(value, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. value .. '"'
end

function M.done(summary, latency, requests)
  local bad, bad_status, bad_body = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non_2xx") or 0)
    local status = thread:get("first_bad_status") or 0
    if bad_status == 0 and status ~= 0 then
      bad_status = status
      bad_body = thread:get("first_bad_body") or ""
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d},' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"non_2xx":%d,"first_bad_status":%d,"first_bad_body":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    errors.connect, errors.read, errors.write, errors.timeout,
    bad, bad_status, json_string(bad_body)))
end

-- Install the hooks every scenario shares; a scenario then defines request() (or not).
function M.install()
  setup = M.setup
  response = M.response
  done = M.done
end

return M
