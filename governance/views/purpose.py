"""Purpose registration: the owner states what a key is for and why nothing else can serve."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from core.errors import Conflict, GovernanceError

from ..access import can_manage_key, key_for, registration_owner
from ..forms import ALTERNATIVE_FIELDS, RegistrationForm
from ..selectors import current_registration
from ..services.keys import purpose_register


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
    form = RegistrationForm(request.POST or None, initial=RegistrationForm.initial_from(current))
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
        "alternatives": [form[name] for name in ALTERNATIVE_FIELDS],
        "details": [form[name] for name in ("source_restriction", "rotation_procedure",
                                            "deactivation_contact")],
        "becomes_owner": registration_owner(request.user, key).pk != key.owner_id,
    }, status=400 if form.errors and status == 200 else status)
