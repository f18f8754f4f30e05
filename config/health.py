"""``/health/``: for load balancers. 200 when the database and the broker answer, else 503.

Load balancers and container health checks address instances by IP (``Host: 10.0.3.7``),
which ``ALLOWED_HOSTS`` rightly refuses everywhere else; the middleware answers the health
path before host validation, HTTPS redirection or sessions, and touches nothing else.
"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # the point is to report it, not to crash
        return f"error: {type(exc).__name__}"


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


@never_cache
def health(request):
    checks = {"database": _database(), "broker": _broker()}
    healthy = all(not value.startswith("error") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unhealthy", **checks},
                        status=200 if healthy else 503)


class HealthCheckMiddleware:
    """Serve ``/health/`` first, whatever the Host header; every other request passes on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/health/" and request.method in ("GET", "HEAD"):
            return health(request)
        return self.get_response(request)
