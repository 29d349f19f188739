-- GET /orders?limit=20&cursor=...: an admin's page 10,000 orders deep, reached by cursor.
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()
local data

function init(args)
  common.init()
  data = common.load_data()
end

function request()
  return wrk.format("GET", "/orders?limit=20&cursor=" .. data.deep_cursor, data.admin.headers)
end
