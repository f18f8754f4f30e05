"""The API reference page: Swagger UI, served from vendored files (static/vendor/swagger-ui/)
and started by a static script, so it works offline and under the Content-Security-Policy."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def api_docs(request):
    """Any signed-in person may call the API (it shows what they may see), so any may read
    its reference."""
    return render(request, "governance/api_docs.html")
