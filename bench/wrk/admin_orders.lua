-- GET /orders?limit=20 as an admin: the first page of everyone's orders (with count).
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()
local data

function init(args)
  common.init()
  data = common.load_data()
end

function request()
  return wrk.format("GET", "/orders?limit=20", data.admin.headers)
end
