"""An issuance request in the demo (issue 17): Bob asks for a key for a nightly export job in
prod, filed through the service as the form files it, and left awaiting the security team's
decision, so the list, the decider's page and the verdict have something to show."""

from __future__ import annotations

import json

from accounts.models import Person
from reduction.issuance import IssuanceInput, issuance_file
from reduction.models import IssuanceRequest

from .catalog import PEOPLE_BY_HANDLE
from .seed import DemoOrganization

DEMO_ISSUANCE_USER = "svc-billing-export"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::acme-billing/*"},
    {"Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}}}]}


def seed_demo_issuance(org: DemoOrganization) -> IssuanceRequest:
    """Bob's pending request for a key of ``DEMO_ISSUANCE_USER`` in prod."""
    prod = next(a.account_id for a in org.accounts if a.name == "prod")
    bob = Person.objects.get(email=PEOPLE_BY_HANDLE["bob"].email)
    return issuance_file(actor=bob, data=IssuanceInput(
        account_id=prod, user_name=DEMO_ISSUANCE_USER, category="saas",
        runs_where="the billing provider's export service",
        justification="the provider pushes the nightly invoices export to our bucket",
        why_not_iam_role="the provider runs outside our AWS accounts",
        why_not_identity_center="no person signs in: a nightly job",
        why_not_sts="the provider supports only access keys, no role assumption",
        policy_text=json.dumps(POLICY, indent=2), sources_text="192.0.2.0/24",
        rotation_plan="every 60 days, the new key pasted in the provider's console",
        deactivation_contact="billing on-call"))
