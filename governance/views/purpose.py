"""Purpose registration: the owner states what a key is for and why nothing else can serve.

Beside the declared sources the page shows what the evidence suggests: the sources are
pre-filled from the addresses CloudTrail saw when none are declared yet, and the Deny guard
for the sources shown, with a least-privilege policy from the actions the key made, both
judged by the analyser ``check_policy`` uses.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone

from core.errors import Conflict, GovernanceError
from evidence.observed import Observed, observed_in_window
from reduction.facts import alternatives_in_evidence

from ..access import can_manage_key, key_for, registration_owner
from ..forms import ALTERNATIVE_FIELDS, RegistrationForm
from ..least_privilege import RESOURCE_NOTE, suggest
from ..policy_input import verdict_fields
from ..selectors import current_registration
from ..services.keys import purpose_register
from ..sources import MAX_SOURCES, deny_guard


def _initial(current, observed: Observed) -> tuple[dict, bool]:
    """The form's first values: the current registration's, with the observed sources when
    it declares none; and whether they were pre-filled so."""
    initial = RegistrationForm.initial_from(current)
    if initial.get("declared_sources") or not observed.sources:
        return initial, False
    return {**initial, "declared_sources": "\n".join(observed.sources[:MAX_SOURCES])}, True


def _suggestions(form: RegistrationForm, observed: Observed) -> dict:
    """The Deny guard for the sources the form shows and the least-privilege policy from
    the window's actions, as JSON, with the analyser's verdict on the two together."""
    sources = form.shown_sources()
    suggestion = suggest(observed.actions, sources)
    return {
        "observed": observed, "suggestion": suggestion,
        "guard_json": json.dumps(deny_guard(sources), indent=2) if sources else "",
        "policy_json": json.dumps(suggestion.policy, indent=2),
        "verdict": verdict_fields(suggestion.verdict), "resource_note": RESOURCE_NOTE,
    }


@login_required
def key_register(request, pk: int):
    """Register or update a key's purpose; 404 outside scope, 403 for onlookers.

    When someone else registered it at the same moment (409), the form comes back with what
    the person typed, under the registration that now stands.
    """
    key = key_for(request.user, pk)
    if not can_manage_key(request.user, key):
        raise PermissionDenied("Only the key's owner or the security team can register it.")
    current = current_registration(key)
    observed = observed_in_window(key, today=timezone.now().date())
    initial, prefilled = _initial(current, observed)
    form = RegistrationForm(request.POST or None, initial=initial,
                            evidence=alternatives_in_evidence(key, today=timezone.localdate()))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            purpose_register(actor=request.user, key=key, data=form.registration_input())
        except Conflict as exc:
            form.add_error(None, str(exc))
            current, status = current_registration(key), 409
        except GovernanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Purpose of {key} registered.")
            return redirect("key-detail", pk=key.pk)
    return render(request, "governance/workflows/register.html", {
        "key": key, "form": form, "current": current,
        # Each "why not" with the way-out evidence against it and its confirmation box.
        "alternatives": [(form[name], form.evidence.get(name, ""),
                          form[f"confirm_{name}"] if name in form.evidence else None)
                         for name in ALTERNATIVE_FIELDS],
        "details": [form[name] for name in ("rotation_procedure", "deactivation_contact")],
        "becomes_owner": registration_owner(request.user, key).pk != key.owner_id,
        "prefilled": prefilled and not form.is_bound, **_suggestions(form, observed),
    }, status=400 if form.errors and status == 200 else status)
