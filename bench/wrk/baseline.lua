-- The baseline: GET / on the minimal FastAPI app (bench/baseline_app.py), no auth.
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
common.install()

function init(args)
  common.init()
end
