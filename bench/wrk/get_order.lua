-- GET /orders/{id}: a random caller reads one of its own orders (random id).
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()
local data

function init(args)
  common.init()
  data = common.load_data()
end

function request()
  local caller = common.pick(data.callers)
  return wrk.format("GET", "/orders/" .. common.pick(caller.orders), caller.headers)
end
