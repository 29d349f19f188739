"""Health: liveness of the process, and readiness, which proves the database reads and
accepts writes (`app.services.health` asks it)."""

from fastapi import Request, status
from fastapi.responses import JSONResponse

from app.routers.common import PrefixedRouter
from app.schemas import Message, Unavailable
from app.services.health import database_problem

router = PrefixedRouter(prefix="/health", tags=["health"])

RETRY_AFTER_SECONDS = "5"


@router.get(
    "/live",
    response_model=Message,
    operation_id="health_live",
    summary="Is the process serving requests?",
)
async def live() -> Message:
    """200 `{"status": "ok"}` while the process answers; the database is not asked."""
    return Message(status="ok")


READY_DOC = """200 `{"status": "ok"}` when the database answers a read and accepts a write
(a write probe, rolled back); else 503 `{"status": "unavailable", "detail": <why>}` with
`Retry-After`. Load balancers send traffic only to a ready instance."""


async def ready(request: Request) -> Message | JSONResponse:
    problem = await database_problem(request.app.state.db, request.app.state.settings)
    if problem is None:
        return Message(status="ok")
    return JSONResponse(
        {"status": "unavailable", "detail": problem},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


for path, operation_id in (("/ready", "health_ready"), ("", "health")):
    router.add_api_route(
        path,
        ready,
        methods=["GET"],
        response_model=Message,
        operation_id=operation_id,
        summary="Can the service read and write its database?",
        description=READY_DOC,
        responses={
            status.HTTP_503_SERVICE_UNAVAILABLE: {
                "model": Unavailable,
                "description": "The database cannot serve reads and writes now",
            }
        },
    )
