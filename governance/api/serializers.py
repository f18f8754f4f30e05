"""What the API shows and accepts. Every field is named: no secret, hash or ExternalId leaves.

A key's list item carries the CSV export's contract columns with the export's own values
(``governance.exports.key_export_row``): the same strings, ``""`` when unknown, dates ISO
8601 UTC; but as JSON types, not CSV text: ``age_days`` a number (null when unknown) and
``findings`` a list of the open codes (the CSV joins them with ``;``). So the page, the
export and the API describe a key identically.
"""

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.reverse import reverse

from accounts.models import Person
from evidence.summary import key_usage
from reduction.api import WayOutSerializer
from reduction.facts import key_way_out

from ..exports import key_export_row
from ..models import AccessKey, AwsAccount, ExceptionRequest, Finding, Registration, SyncRun
from ..selectors import current_registration, key_scorecard
from ..services.keys import REGISTRATION_TEXT_FIELDS
from ..sources import MAX_SOURCES, SourceError, parse_sources
from .usage import UsageSerializer

ISO_OR_EMPTY = "ISO 8601 UTC (2025-01-31T12:00:00Z); empty when unknown"


class ScorecardEntrySerializer(serializers.Serializer):
    element = serializers.CharField()
    verdict = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class KeySerializer(serializers.Serializer):
    """A key as the inventory lists it: the export's columns, its id, link and scorecard."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.URLField(read_only=True)
    account_id = serializers.CharField(read_only=True, help_text="12-digit AWS account id")
    account_name = serializers.CharField(read_only=True)
    user_name = serializers.CharField(read_only=True,
                                      help_text="IAM user; <root_account> for a root key")
    access_key_id = serializers.CharField(
        read_only=True, help_text="empty for a root key (AWS does not show its id)")
    status = serializers.CharField(read_only=True, help_text="Active or Inactive")
    created_at = serializers.CharField(read_only=True, help_text=ISO_OR_EMPTY)
    age_days = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="whole days since creation; null when unknown")
    last_used_at = serializers.CharField(read_only=True, help_text=ISO_OR_EMPTY)
    last_used_service = serializers.CharField(read_only=True)
    last_used_region = serializers.CharField(read_only=True)
    owner_email = serializers.CharField(read_only=True,
                                        help_text="the resolved owner; empty when none")
    purpose = serializers.CharField(
        read_only=True, help_text="current registered purpose category; empty when none")
    findings = serializers.ListField(
        child=serializers.CharField(), read_only=True,
        help_text="open, not excepted finding codes, sorted (the CSV joins them with ';')")
    compliance = serializers.CharField(read_only=True,
                                       help_text="compliant, excepted or non_compliant")
    scorecard = ScorecardEntrySerializer(many=True, read_only=True)

    def to_representation(self, key: AccessKey) -> dict:
        row = key_export_row(key, now=self.context.get("now"))
        return {
            "id": key.pk,
            "url": reverse("api-key-detail", args=[key.pk], request=self.context.get("request")),
            **row,
            "age_days": int(row["age_days"]) if row["age_days"] else None,
            "findings": row["findings"].split(";") if row["findings"] else [],
            "scorecard": [{"element": e.element, "verdict": e.verdict, "reasons": list(e.reasons)}
                          for e in key_scorecard(key.open_findings)],
        }


class RegistrationSerializer(serializers.ModelSerializer):
    """A purpose registration; the same fields are the input of ``keys/{id}/registration/``."""

    owner: serializers.SlugRelatedField[Person] = serializers.SlugRelatedField(
        slug_field="email", read_only=True)
    declared_sources = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=MAX_SOURCES,
        help_text="Where the key is used from: CIDRs (203.0.113.0/24, 2001:db8::/48), VPC ids "
                  "(vpc-…) and VPC endpoint ids (vpce-…); stored canonical. UNEXPECTED_SOURCE "
                  "compares CloudTrail's addresses with them.")
    source_restriction = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="",
        help_text="Notes on the declared sources; required when none are declared (why the "
                  "key cannot be confined), filled from the list when left empty.")

    class Meta:
        model = Registration
        fields = ["category", *REGISTRATION_TEXT_FIELDS, "declared_sources", "owner",
                  "registered_at", "review_due_on"]
        read_only_fields = ["owner", "registered_at", "review_due_on"]

    def validate_declared_sources(self, values: list[str]) -> list[str]:
        try:
            return [source.value for source in parse_sources(values)]
        except SourceError as error:
            raise serializers.ValidationError(str(error)) from None


class OpenFindingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = ["id", "code", "element", "severity", "reason", "opened_at", "exception"]
        read_only_fields = fields


class KeyDetailSerializer(KeySerializer):
    """A key with why it has no owner, its open findings and its current registration."""

    owner_gap = serializers.CharField(read_only=True, allow_blank=True)
    removed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    open_findings = OpenFindingSerializer(many=True, read_only=True)
    registration = RegistrationSerializer(read_only=True, allow_null=True)
    usage = UsageSerializer(read_only=True, help_text="what CloudTrail shows the key did in "
                            "the evidence window (DESIGN.md 'Usage evidence')")
    way_out = WayOutSerializer(read_only=True, help_text="the recommended replacement path "
                               "(DESIGN.md 'Fewer keys'), its evidence and the key's plan")

    def to_representation(self, key: AccessKey) -> dict:
        data = super().to_representation(key)
        current = current_registration(key)
        data.update({
            "way_out": key_way_out(key, today=timezone.localdate()),
            "owner_gap": key.owner_gap,
            # DRF gives None for None; its stubs accept only a datetime.
            "removed_at": serializers.DateTimeField().to_representation(
                key.removed_at),  # type: ignore[arg-type]
            "open_findings": OpenFindingSerializer(key.open_findings, many=True).data,
            "registration": RegistrationSerializer(current).data if current else None,
            "usage": UsageSerializer(key_usage(key, today=timezone.now().date())).data,
        })
        return data


class FindingSerializer(serializers.ModelSerializer):
    key_url: serializers.HyperlinkedRelatedField[AccessKey] = serializers.HyperlinkedRelatedField(
        source="key", view_name="api-key-detail", read_only=True)
    access_key_id = serializers.CharField(source="key.access_key_id", read_only=True,
                                          allow_null=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Finding
        fields = ["id", "key", "key_url", "access_key_id", "code", "element", "severity",
                  "reason", "opened_at", "resolved_at", "is_open", "exception"]
        read_only_fields = fields


class ExceptionSerializer(serializers.ModelSerializer):
    """An exception request. On create only ``key``, ``code``, ``justification`` and
    ``expires_on`` are read; ``key`` must be a key the person can see."""

    url = serializers.HyperlinkedIdentityField(view_name="api-exception-detail")
    key = serializers.PrimaryKeyRelatedField(queryset=AccessKey.objects.none())
    key_url: serializers.HyperlinkedRelatedField[AccessKey] = serializers.HyperlinkedRelatedField(
        source="key", view_name="api-key-detail", read_only=True)
    access_key_id = serializers.CharField(source="key.access_key_id", read_only=True,
                                          allow_null=True)
    account_id = serializers.CharField(source="key.account.account_id", read_only=True)
    user_name = serializers.CharField(source="key.user.name", read_only=True)
    requested_by: serializers.SlugRelatedField[Person] = serializers.SlugRelatedField(
        slug_field="email", read_only=True)
    decided_by: serializers.SlugRelatedField[Person] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True)

    class Meta:
        model = ExceptionRequest
        fields = ["id", "url", "key", "key_url", "access_key_id", "account_id", "user_name",
                  "code", "status", "justification", "expires_on", "requested_by",
                  "requested_at", "decided_by", "decided_at", "decision_note", "closed_at"]
        read_only_fields = ["status", "requested_at", "decided_at", "decision_note",
                            "closed_at"]
        # The service decides "one open request per key and code", and says so.
        validators: list[Callable[..., Any]] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["key"].queryset = AccessKey.objects.visible_to(request.user)


class ApproveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    expires_on = serializers.DateField(required=False, allow_null=True, default=None,
                                       help_text="Shorten the requested expiry (optional).")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                 help_text="Why (required to reject or revoke).")


class AwsAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = AwsAccount
        fields = ["id", "account_id", "name", "role_arn", "enabled", "source", "created_at",
                  "last_synced_at", "root_keys_present", "cloudtrail_logging",
                  "credential_report_at"]
        read_only_fields = fields


class SyncRunSerializer(serializers.ModelSerializer):
    account_id = serializers.CharField(source="account.account_id", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    aws_calls_by_action = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    # Declared because a read-only model field loses ``allow_blank``: the schema must admit
    # the "" a run that did not fail has, or clients validating against it reject every run.
    failure_kind = serializers.ChoiceField(choices=SyncRun.FailureKind.choices, read_only=True,
                                           allow_blank=True)

    class Meta:
        model = SyncRun
        fields = ["id", "account", "account_id", "status", "trigger", "started_at",
                  "finished_at", "duration_seconds", "phase", "heartbeat_at", "users_seen",
                  "users_created", "users_updated", "users_removed", "keys_seen",
                  "keys_created", "keys_updated", "keys_removed", "rows_written", "aws_calls",
                  "aws_calls_by_action", "failure_kind", "error"]
        read_only_fields = fields
