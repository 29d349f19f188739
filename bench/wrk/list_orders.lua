-- GET /orders?limit=20: a random caller reads the first page of its orders (with count).
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()
local data

function init(args)
  common.init()
  data = common.load_data()
end

function request()
  local caller = common.pick(data.callers)
  return wrk.format("GET", "/orders?limit=20", caller.headers)
end
