"""/api/v1/: keys, findings, exceptions, AWS accounts, sync runs, the policy check and the
OpenAPI schema.

URL names carry an ``api-`` prefix (``api-key-list``, ``api-key-detail``, ...) so they never
clash with the pages'. The schema needs a signed-in session or a token, like the rest.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.routers import DefaultRouter

from reduction.api import PlanViewSet
from reduction.issuance_api import IssuanceRequestViewSet

from . import views
from .docs import api_docs
from .policy_check import PolicyCheckView


class ApiRouter(DefaultRouter):
    include_format_suffixes = False  # one URL per resource; JSON is the only format


router = ApiRouter(root_renderers=[JSONRenderer])
router.register("keys", views.KeyViewSet, basename="api-key")
router.register("findings", views.FindingViewSet, basename="api-finding")
router.register("exceptions", views.ExceptionViewSet, basename="api-exception")
router.register("accounts", views.AwsAccountViewSet, basename="api-account")
router.register("sync-runs", views.SyncRunViewSet, basename="api-sync-run")
router.register("plans", PlanViewSet, basename="api-plan")
router.register("issuance-requests", IssuanceRequestViewSet, basename="api-issuance-request")
router.root_view_name = "api-root"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]),
         name="api-schema"),
    path("docs/", api_docs, name="api-docs"),
    path("policy-check/", PolicyCheckView.as_view(), name="api-policy-check"),
    *router.urls,
]
