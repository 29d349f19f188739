-- POST /orders/{id}/items: a random caller adds one unit of a random product to one of its
-- pending orders. Many pending orders x 50 products keep every line far below the
-- 100-per-line cap, so requests keep succeeding (a repeat merges into the existing line).
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()
local data

function init(args)
  common.init()
  data = common.load_data()
end

function request()
  local caller = common.pick(data.callers)
  local body = string.format('{"product_id":%d,"quantity":1}', common.pick(data.products))
  return wrk.format("POST", "/orders/" .. common.pick(caller.pending) .. "/items",
    caller.json_headers, body)
end
