"""What every API view shares: JSON only, paging, the security-team gate, service errors."""

from django.core.exceptions import TooManyFieldsSent
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.viewsets import GenericViewSet

from core.errors import Conflict, GovernanceError, NotAllowed

from ..access import is_security


class ApiPagination(PageNumberPagination):
    """``?page=N`` (50 a page by default) and ``?page_size=`` up to 500."""

    page_size_query_param = "page_size"
    max_page_size = 500


class IsSecurityTeam(BasePermission):
    message = "Only the security team can see this."

    def has_permission(self, request, view):
        return is_security(request.user)


class Clashed(exceptions.APIException):
    """Someone else changed the object at the same moment; nothing was written."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Someone else changed this at the same moment; look again and retry."
    default_code = "conflict"


class Refused(exceptions.APIException):
    """A governance rule refused the action; the detail says which, for the person."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The action is not allowed by the governance rules."
    default_code = "refused"


def api_exception_handler(exc, context):
    """DRF's handler, after turning the services' errors into 400 / 403 / 409 with their reason,
    and Django's refusal of a form with too many fields into a JSON 400 that says so rather
    than Django's empty HTML one. (Too large a body never gets here: see
    ``config.security.RequestBodyLimitMiddleware``.)"""
    if isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError("Too many form fields in the request body.")
    elif isinstance(exc, NotAllowed):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Conflict):
        exc = Clashed(str(exc))
    elif isinstance(exc, GovernanceError):
        exc = Refused(str(exc))
    return drf_exception_handler(exc, context)


class UnknownParameters(exceptions.APIException):
    """A query parameter the endpoint does not take: a typo in a filter would otherwise
    answer with every row, which a script would take for the filtered list."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "unknown_parameter"


PAGING_PARAMETERS = frozenset({"page", "page_size"})


class ApiViewSet(GenericViewSet):
    """Base of the API's viewsets. JSON only: DRF's browsable pages need inline script,
    which the Content-Security-Policy forbids. A query parameter other than the list's
    filters and paging is refused with a 400 that names it."""

    renderer_classes = [JSONRenderer]
    pagination_class = ApiPagination
    permission_classes = [IsAuthenticated]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # who may ask is answered first
        known = self.known_query_parameters()
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise UnknownParameters({
                "detail": f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: "
                          f"{', '.join(unknown)}.",
                "unknown": unknown, "known": sorted(known)})

    def known_query_parameters(self) -> set[str]:
        """The list's filters and paging; nothing for the other actions."""
        if self.action != "list":
            return set()
        filterset = getattr(self, "filterset_class", None)
        return set(filterset.base_filters if filterset else ()) | PAGING_PARAMETERS

    def get_exception_handler(self):
        return api_exception_handler
