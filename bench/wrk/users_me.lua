-- GET /users/me: the authentication hot path alone (token decoded, user loaded).
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()
local data

function init(args)
  common.init()
  data = common.load_data()
end

function request()
  return wrk.format("GET", "/users/me", common.pick(data.callers).headers)
end
