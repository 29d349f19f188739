"""The baseline: the smallest useful FastAPI app, served exactly like the real one.

Every endpoint of the benchmark is reported as a ratio to this app's GET /, measured in
the same run with the same uvicorn options, so the numbers travel between machines.
"""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root() -> dict[str, str]:
    return {"status": "ok"}
