-- Admins paging through every order: GET /orders?limit=100, then each page's next_cursor,
-- and from the first page again after the last. Each thread walks on its own.
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()
local data
local cursor = nil

function init(args)
  common.init()
  data = common.load_data()
end

function request()
  local path = "/orders?limit=100"
  if cursor ~= nil then
    path = path .. "&cursor=" .. cursor
  end
  return wrk.format("GET", path, data.admin.headers)
end

function response(status, headers, body)
  common.response(status, headers, body)
  cursor = string.match(body or "", '"next_cursor":"([^"]+)"')
end
