"""The key detail's ``usage`` (DESIGN.md, public interfaces): what CloudTrail shows the key
did in the evidence window, from ``evidence.summary.key_usage``, the selector the key page's
Usage panel reads, so the API and the page say the same."""

from rest_framework import serializers

from evidence.summary import KeyUsage


class UsageAddressSerializer(serializers.Serializer):
    address = serializers.CharField(
        read_only=True, help_text="CloudTrail's sourceIPAddress: an IP address, or the name "
        "of an AWS service acting for the key")
    declared = serializers.BooleanField(
        read_only=True, allow_null=True, help_text="whether the address is among the key's "
        "declared sources; null when not judged (an AWS service acting for the key, or no "
        "sources declared)")
    first_seen = serializers.DateTimeField(read_only=True)
    last_seen = serializers.DateTimeField(read_only=True)
    events = serializers.IntegerField(read_only=True)


class UsageActionSerializer(serializers.Serializer):
    action = serializers.CharField(read_only=True, help_text="IAM's spelling: s3:GetObject")
    events = serializers.IntegerField(read_only=True)


class UsageSerializer(serializers.Serializer):
    """The window's evidence; empty lists (and 0 errors) when the trail shows nothing, and
    always for a root key, whose use CloudTrail cannot attribute to a key id."""

    window_days = serializers.IntegerField(
        read_only=True, help_text="the UTC days counted, today included "
        "(KEYLEDGER_EVIDENCE_DAYS)")
    addresses = UsageAddressSerializer(
        many=True, read_only=True, help_text="undeclared addresses first, then the most "
        "events first")
    user_agents = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="the most events first")
    actions = UsageActionSerializer(many=True, read_only=True,
                                    help_text="the 10 most frequent, the most events first")
    regions = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="the most events first")
    # The metaclass takes declared fields off the class, so ``Serializer.errors`` (the
    # validation errors property) is untouched; the stubs see a property overridden.
    errors = serializers.IntegerField(  # type: ignore[assignment]
        read_only=True, help_text="calls AWS refused or failed (errorCode)")

    def to_representation(self, instance: KeyUsage) -> dict:
        return {
            "window_days": instance.window_days,
            "addresses": UsageAddressSerializer(instance.addresses, many=True).data,
            "user_agents": [c.value for c in instance.user_agents],
            "actions": [{"action": c.value, "events": c.events} for c in instance.actions],
            "regions": [c.value for c in instance.regions],
            "errors": instance.errors,
        }
