"""The API's side of reduction: a key's ``way_out`` (DESIGN.md public interfaces) and the
read-only ``/api/v1/plans/`` list, both from the same reads as the pages."""

from django.utils import timezone
from django_filters import rest_framework as filters
from rest_framework import mixins, serializers
from rest_framework.reverse import reverse

from governance.api.base import ApiViewSet
from governance.way_out import Path

from .models import MigrationPlan
from .selectors import plans_for


class PlanSummarySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=MigrationPlan.State.choices)
    target_date = serializers.DateField()


class WayOutSerializer(serializers.Serializer):
    """A key's way out: the recommended path, the evidence behind it, its plan (the open
    one, else the last one; null when it never had one). Shape only: the value comes from
    ``reduction.facts.key_way_out``."""

    path = serializers.ChoiceField(choices=[p.value for p in Path])
    evidence = serializers.ListField(child=serializers.CharField(),
                                     help_text="sentences, the reason first")
    plan = PlanSummarySerializer(allow_null=True)


class PlanSerializer(serializers.ModelSerializer):
    key_url = serializers.SerializerMethodField()
    access_key_id = serializers.CharField(source="key.access_key_id", read_only=True)
    account_id = serializers.CharField(source="key.account.account_id", read_only=True)
    owner_email = serializers.SerializerMethodField()

    class Meta:
        model = MigrationPlan
        fields = ["id", "key", "key_url", "access_key_id", "account_id", "owner_email", "path",
                  "state", "target_date", "notes", "opened_at", "state_changed_at", "done_at"]
        read_only_fields = fields

    def get_key_url(self, plan: MigrationPlan) -> str:
        return reverse("api-key-detail", args=[plan.key_id], request=self.context.get("request"))

    def get_owner_email(self, plan: MigrationPlan) -> str:
        return plan.key.owner.email if plan.key.owner else ""


class PlanFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=MigrationPlan.State.choices)
    overdue = filters.BooleanFilter(method="filter_overdue",
                                    label="past the target date and not done")

    class Meta:
        model = MigrationPlan
        fields: list[str] = []

    def filter_overdue(self, queryset, _name, value):
        return queryset.overdue(today=timezone.localdate()) if value else queryset


class PlanViewSet(mixins.ListModelMixin, ApiViewSet):
    """Migration plans of the keys the person may see, by target date (``/plans/``)."""

    serializer_class = PlanSerializer
    filterset_class = PlanFilter

    def get_queryset(self):
        return plans_for(self.request.user, today=timezone.localdate())
