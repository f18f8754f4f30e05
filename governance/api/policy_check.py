"""``POST /api/v1/policy-check/``: ``manage.py check_policy``'s judgement over HTTP.

Any signed-in person or API-token holder may ask: it reads no data and writes none. Session
callers need the CSRF token like every other POST (DRF's SessionAuthentication enforces it).
The body is parsed and checked by ``governance.policy_input``, the same code the command
uses, and judged by ``governance.iam_policy.analyse_permissions``.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..iam_policy import analyse_permissions
from ..policy_input import KINDS, PolicyInputError, policies_from_request, verdict_fields
from .base import api_exception_handler
from .parsers import SafeJSONParser

# -- what the OpenAPI schema says (the checking itself is policy_input's) ---------------------


class ProposedPolicySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128, help_text="the policy's name, as IAM will have it")
    kind = serializers.ChoiceField(choices=KINDS, help_text="where it will be attached")
    document = serializers.JSONField(
        help_text="an IAM policy document: an object, a JSON string of one, or URL-encoded JSON "
                  "(as IAM returns documents); refused with the field named if IAM would refuse "
                  "it")


class PolicyCheckRequestSerializer(serializers.Serializer):
    policies = ProposedPolicySerializer(
        many=True, help_text="every policy the key's user would have, user's and groups'")


class PolicyCheckReasonsSerializer(serializers.Serializer):
    admin = serializers.CharField()
    escalation = serializers.CharField(allow_blank=True)
    # DRF's metaclass moves declared fields out of the class, so this does not replace
    # Field.source as the stubs believe.
    source = serializers.CharField()  # type: ignore[assignment]


class PolicyCheckResultSerializer(serializers.Serializer):
    admin = serializers.BooleanField(help_text="ADMIN_PRIVILEGE would be raised: * on *")
    escalation = serializers.BooleanField(
        help_text="PRIVILEGE_ESCALATION would be raised: not admin, but a known path to it")
    source_restricted = serializers.BooleanField(
        help_text="usable only from known places; false raises NO_SOURCE_RESTRICTION")
    reasons = PolicyCheckReasonsSerializer(help_text="one sentence per verdict, naming the policy")
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="parts IAM would refuse that change no verdict (a statement without Effect)")


_EXAMPLE = {"policies": [{
    "name": "ci-deploy", "kind": "user-inline",
    "document": {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::builds/*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]},
}]}


# -- the view --------------------------------------------------------------------------------

class PolicyCheckView(APIView):
    """Judge proposed policies: would the key's user be admin, have an escalation path,
    be confined to known sources?"""

    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser]  # JSON only: a policy document is JSON
    permission_classes = [IsAuthenticated]

    def get_exception_handler(self):
        return api_exception_handler

    @extend_schema(
        operation_id="policy_check",
        request=PolicyCheckRequestSerializer,
        responses={
            200: PolicyCheckResultSerializer,
            400: OpenApiResponse(
                description="the input cannot be judged; the key is the field's path "
                            "(policies[N].kind, policies[N].document.Statement[M], ...)"),
        },
        examples=[OpenApiExample("Confined inline policy",
                                 value=_EXAMPLE, request_only=True)],
    )
    def post(self, request):
        """The Permissions and Source verdicts on the policies a key's user would have,
        before the key exists (``manage.py check_policy`` over HTTP)."""
        try:
            read = policies_from_request(request.data)
        except PolicyInputError as problem:
            raise ValidationError({problem.where or "non_field_errors": [problem.problem]}
                                  ) from None
        verdict = analyse_permissions(read.policies)
        return Response({**verdict_fields(verdict), "warnings": read.warnings})
