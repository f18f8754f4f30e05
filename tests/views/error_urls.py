"""A URLconf for tests of the error pages: the real one, plus a view that fails."""

from django.urls import path

from config.urls import urlpatterns as real_urlpatterns


def broken(request):
    raise RuntimeError("a failure the user must not see the details of")


urlpatterns = [path("broken/", broken), *real_urlpatterns]
