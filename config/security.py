"""Middleware on every request Django answers: too large a body is refused with a 413
before anything reads it; every response carries the Content-Security-Policy (no inline
script can run) and ``Cache-Control: no-store`` (no copy of key data kept by a cache)."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers


class RequestBodyLimitMiddleware:
    """Refuse a body whose declared length exceeds ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with a 413
    that says so, before CSRF, DRF or a form reads it (Django alone answers an empty 400,
    and only once something reads the body; Keyledger takes no file uploads)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = request.META.get("CONTENT_LENGTH", "")
        digits = declared.isascii() and declared.isdigit()
        if limit is not None and digits and (len(declared) > 18 or int(declared) > limit):
            message = (f"The request body is too large: at most {limit:,} bytes are "
                       "accepted. Send less text.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.KEYLEDGER_CSP)
        return response


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (and ``private``, ``max-age=0``) on every response Django
    answers: pages, the CSV export and the API show key data, owners and findings, which no
    browser cache, proxy or shared computer should keep. Placed after WhiteNoise, so static
    files keep their long cache lifetimes; ``/health/`` is answered before any middleware
    (it is ``never_cache`` itself)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
