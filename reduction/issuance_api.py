"""``/api/v1/issuance-requests/``: the issuance requests the person may see, read-only (the
same ``visible_to`` as the pages; filing and deciding happen on the pages)."""

from django_filters import rest_framework as filters
from rest_framework import mixins, serializers

from governance.api.base import ApiViewSet

from .models import IssuanceRequest


class IssuanceRequestSerializer(serializers.ModelSerializer):
    account_id = serializers.CharField(source="account.account_id", read_only=True)
    requested_by = serializers.EmailField(source="requested_by.email", read_only=True)
    decided_by = serializers.SerializerMethodField()
    access_key_id = serializers.SerializerMethodField()

    class Meta:
        model = IssuanceRequest
        fields = ["id", "account_id", "user_name", "state", "category", "justification",
                  "declared_sources", "verdict", "requested_by", "requested_at", "decided_by",
                  "decided_at", "decision_note", "issued_key", "access_key_id", "fulfilled_at"]
        read_only_fields = fields

    def get_decided_by(self, request: IssuanceRequest) -> str:
        return request.decided_by.email if request.decided_by else ""

    def get_access_key_id(self, request: IssuanceRequest) -> str:
        return request.issued_key.access_key_id or "" if request.issued_key else ""


class IssuanceRequestFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=IssuanceRequest.State.choices)

    class Meta:
        model = IssuanceRequest
        fields: list[str] = []


class IssuanceRequestViewSet(mixins.ListModelMixin, ApiViewSet):
    """Issuance requests the person made, may decide, or (security) all, newest first."""

    serializer_class = IssuanceRequestSerializer
    filterset_class = IssuanceRequestFilter

    def get_queryset(self):
        return (IssuanceRequest.objects.visible_to(self.request.user)
                .select_related("account", "requested_by", "decided_by", "issued_key")
                .order_by("-requested_at", "-id"))
