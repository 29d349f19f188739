"""`python -m bench`: the hot paths (bench.run); with `--growth`, the data-growth run
(bench.growth) with the other arguments."""

import sys

from bench import growth, run

arguments = sys.argv[1:]
if "--growth" in arguments:
    arguments.remove("--growth")
    sys.exit(growth.main(arguments))
sys.exit(run.main(arguments))
