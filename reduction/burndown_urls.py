"""The burn-down (issue 17): the page, its CSV export and its JSON API under ``/api/v1/``.

Its own URL module, included from ``config/urls.py``, so the plans' and issuance's modules
stay their own. The API's name carries the ``api-`` prefix like the others'.
"""

from django.urls import path

from . import burndown_views as views

urlpatterns = [
    path("burn-down/", views.burndown, name="burn-down"),
    path("burn-down/export.csv", views.burndown_export, name="burn-down-export"),
    path("api/v1/burn-down/", views.BurnDownApiView.as_view(), name="api-burn-down"),
]
