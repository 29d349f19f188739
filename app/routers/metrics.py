"""GET /metrics: the Prometheus text exposition (see `app.metrics`)."""

from fastapi import APIRouter, Response

from app.metrics import exposition

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    operation_id="metrics",
    summary="Prometheus metrics of every worker",
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "The Prometheus text exposition",
        }
    },
)
async def metrics() -> Response:
    """Requests by route and status, their durations, orders, logins, open event
    streams and queued password hashes. Keep it off the public side of the proxy (see
    `deploy/nginx.conf`)."""
    body, media_type = exposition()
    return Response(body, media_type=media_type)
