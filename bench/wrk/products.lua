-- GET /products: anonymous, the first page of the menu (with count).
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()

function init(args)
  common.init()
end

function request()
  return wrk.format("GET", "/products")
end
