"""Headers on every response Django answers: the Content-Security-Policy (no inline script
can run) and ``Cache-Control: no-store`` (no copy of key data kept by a cache)."""

from django.conf import settings
from django.utils.cache import add_never_cache_headers


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
