"""The JSON API's resources. Each starts from the person's ``visible_to`` queryset, so an
object outside their scope is a 404, and every write goes through a governance service."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from ..filters import ExceptionFilter
from ..models import AccessKey, AwsAccount, ExceptionRequest, SyncRun
from ..selectors import exception_listing, findings_visible_to, keys_for_listing
from ..services.exceptions import (
    exception_approve,
    exception_reject,
    exception_request,
    exception_revoke,
    exception_withdraw,
)
from ..services.keys import RegistrationInput, purpose_register
from .base import ApiViewSet, IsSecurityTeam
from .filters import ApiKeyFilter, AwsAccountFilter, FindingFilter, SyncRunFilter
from .serializers import (
    ApproveSerializer,
    AwsAccountSerializer,
    ExceptionSerializer,
    FindingSerializer,
    KeyDetailSerializer,
    KeySerializer,
    NoteSerializer,
    RegistrationSerializer,
    SyncRunSerializer,
)


class KeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Access keys the person may see, filtered exactly as the inventory page and its CSV
    export are (``KeyFilter``), and by AWS account id. Removed keys are listed with
    ``removed=true`` only, but each stays reachable by id."""

    filterset_class = ApiKeyFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return keys_for_listing(AccessKey.objects.visible_to(self.request.user))

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        return KeyDetailSerializer if self.action == "retrieve" else KeySerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(request=RegistrationSerializer, responses={
        201: RegistrationSerializer,
        409: OpenApiResponse(description="someone else registered the key's purpose at the "
                                         "same moment; nothing was saved")})
    @action(detail=True, methods=["post"], url_path="registration",
            serializer_class=RegistrationSerializer)
    def registration(self, request, pk=None):
        """Register (or re-register) the key's purpose; the owner or the security team.
        409 when another registration of the key was saved at the same moment."""
        key = self.get_object()
        data = RegistrationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        registration = purpose_register(actor=request.user, key=key,
                                        data=RegistrationInput(**data.validated_data))
        return Response(RegistrationSerializer(registration).data,
                        status=status.HTTP_201_CREATED)


class FindingViewSet(mixins.ListModelMixin, ApiViewSet):
    """Findings (open and resolved) of the keys the person may see."""

    serializer_class = FindingSerializer
    filterset_class = FindingFilter

    def get_queryset(self):
        return findings_visible_to(self.request.user)


class ExceptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       mixins.CreateModelMixin, ApiViewSet):
    """Exception requests the person may see; POST asks for one (the key's owner or the
    security team); the actions move it through its states, each checked by the service."""

    serializer_class = ExceptionSerializer
    filterset_class = ExceptionFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return exception_listing(ExceptionRequest.objects.visible_to(self.request.user))

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = exception_request(
            actor=self.request.user, key=data["key"], code=data["code"],
            justification=data["justification"], expires_on=data["expires_on"])

    def _after(self, exception: ExceptionRequest) -> Response:
        exception = self.get_queryset().get(pk=exception.pk)
        return Response(self.get_serializer(exception).data)

    def _note(self, request) -> str:
        note = NoteSerializer(data=request.data)
        note.is_valid(raise_exception=True)
        return note.validated_data["note"]

    @extend_schema(request=ApproveSerializer, responses=ExceptionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve (the requester's manager, or a manager / security when they have none)."""
        exception = self.get_object()
        decision = ApproveSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        return self._after(exception_approve(actor=request.user, exception=exception,
                                             **decision.validated_data))

    @extend_schema(request=NoteSerializer, responses=ExceptionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject, saying why (same deciders as approve)."""
        exception = self.get_object()
        return self._after(exception_reject(actor=request.user, exception=exception,
                                            note=self._note(request)))

    @extend_schema(request=None, responses=ExceptionSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The requester (or the security team) withdraws a pending request."""
        exception = self.get_object()
        return self._after(exception_withdraw(actor=request.user, exception=exception))

    @extend_schema(request=NoteSerializer, responses=ExceptionSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """End an approved exception early, saying why; the finding counts again."""
        exception = self.get_object()
        return self._after(exception_revoke(actor=request.user, exception=exception,
                                            note=self._note(request)))


class AwsAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The AWS accounts Keyledger reads. Security team only."""

    serializer_class = AwsAccountSerializer
    filterset_class = AwsAccountFilter
    permission_classes = [IsAuthenticated, IsSecurityTeam]
    queryset = AwsAccount.objects.order_by("name", "account_id", "pk")
    lookup_value_regex = r"\d+"


class SyncRunViewSet(mixins.ListModelMixin, ApiViewSet):
    """Sync runs, newest first. Security team only."""

    serializer_class = SyncRunSerializer
    filterset_class = SyncRunFilter
    permission_classes = [IsAuthenticated, IsSecurityTeam]
    queryset = SyncRun.objects.select_related("account").order_by("-started_at", "-pk")
