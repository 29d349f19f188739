"""The layering the code relies on: services speak the domain, never HTTP; routers speak
HTTP, never SQL."""

import ast
from pathlib import Path

import app.routers
import app.services

SERVICES = Path(app.services.__file__).parent
ROUTERS = Path(app.routers.__file__).parent
HTTP_FRAMEWORKS = ("fastapi", "starlette")
SESSION_TYPES = "sqlalchemy.ext.asyncio"  # a router may name the session it hands on


def imported_modules(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(), filename=str(source))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
    return modules


def test_no_service_module_imports_an_http_framework() -> None:
    offenders = {
        f"{source.relative_to(SERVICES.parent)}: {module}"
        for source in SERVICES.rglob("*.py")
        for module in imported_modules(source)
        if module.split(".")[0] in HTTP_FRAMEWORKS
    }

    assert offenders == set()


def test_the_services_package_has_modules_to_check() -> None:
    assert len(list(SERVICES.rglob("*.py"))) > 5


def test_no_router_module_builds_sql() -> None:
    offenders = {
        f"{source.relative_to(ROUTERS.parent)}: {module}"
        for source in ROUTERS.rglob("*.py")
        for module in imported_modules(source)
        if module.split(".")[0] == "sqlalchemy" and module != SESSION_TYPES
    }

    assert offenders == set()
