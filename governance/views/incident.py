"""The incident view of one key and its JSON record (issue 16); security team only.

Deactivation is the key page's own form and service (``key-deactivate``), posted from here
with ``next=incident`` so the responder lands back on this page and sees the new state.
"""

import json

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ..access import can_deactivate, key_for, security_required
from ..selectors.incident import incident_record, key_incident
from ..services.incident import key_evidence_export, responder_role_arn


@security_required
def key_incident_view(request, pk: int):
    """Owner, purpose and declared sources, permissions, open findings, the usage timeline
    around the event with undeclared addresses first, and Deactivate."""
    key = key_for(request.user, pk)
    incident = key_incident(key, today=timezone.now().date())
    return render(request, "governance/incident.html", {
        "key": key, "incident": incident, "usage": incident.usage,
        "can_deactivate": can_deactivate(request.user, key),
        "responder_ready": bool(responder_role_arn(key.account.account_id)),
    })


@security_required
def key_incident_export(request, pk: int):
    """The incident record as a JSON download, audited as an export."""
    key = key_for(request.user, pk)
    now = timezone.now()
    record = incident_record(key_incident(key, today=now.date()), generated_at=now)
    key_evidence_export(actor=request.user, key=key)
    response = HttpResponse(json.dumps(record, indent=2, sort_keys=True),
                            content_type="application/json; charset=utf-8")
    name = f"keyledger-incident-{key.access_key_id or f'key-{key.pk}'}-{now:%Y%m%d-%H%M}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
