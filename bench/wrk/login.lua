-- POST /auth/login: a random seeded customer logs in (bcrypt at the app's cost).
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()
local data

function init(args)
  common.init()
  data = common.load_data()
end

function request()
  local user = common.pick(data.logins)
  local body = string.format('{"email":"%s","password":"%s"}', user.email, user.password)
  return wrk.format("POST", "/auth/login", {["Content-Type"] = "application/json"}, body)
end
