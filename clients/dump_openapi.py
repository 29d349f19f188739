"""Write the app's OpenAPI schema, as `/openapi.json` serves it, without a server.

    python clients/dump_openapi.py clients/openapi.json

The app is built by `create_app()` with throwaway settings: building the schema reads no
database (the engine is created, never connected), so no `.env` or database is needed.
"""

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.main import create_app


def openapi_json() -> str:
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{scratch}/unused.db",
            secret_key="schema-dump-only-" + "x" * 32,
        )
        schema = create_app(settings).openapi()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    [output] = argv
    Path(output).write_text(openapi_json(), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
