"""The key page's "Your way out" panel: what ``governance.views.inventory.key_detail`` adds
to its context (one call, so the key page's view stays one line longer, not a section).

The trust policy is built from the repository the owner names in the panel's GET form, never
from anything stored: it is advice to paste into AWS, not a change Keyledger makes.
"""

from django.utils import timezone

from governance.access import can_manage_key
from governance.models import AccessKey
from governance.way_out import GITHUB_ACTIONS, GITLAB, Path, oidc_trust_policy_json

from .facts import KeyWayOut, way_out_for_keys
from .forms import CI_TEMPLATES, TrustPolicyForm

CI_SYSTEMS = {"github": GITHUB_ACTIONS, "gitlab": GITLAB}


def can_plan(person, key: AccessKey, found: KeyWayOut) -> bool:
    """Whether ``person`` is offered "Plan the move": who may manage the key (its owner or
    security), for a key still in AWS with no open plan (``plan_open`` allows exactly that)."""
    return can_manage_key(person, key) and key.removed_at is None and found.open_plan is None


def way_out_context(request, key: AccessKey) -> dict:
    """``way_out`` (a ``KeyWayOut``), ``can_plan``, and for a CI key the trust policy form
    and, once a repository is named, the policy JSON or why it cannot be built."""
    found = way_out_for_keys([key], today=timezone.localdate())[key.pk]
    context = {"way_out": found, "can_plan": can_plan(request.user, key, found)}
    if found.way_out.path == Path.OIDC_FEDERATION and key.account_id:
        context.update(_trust_policy(request, key, found))
    return context


def _trust_policy(request, key: AccessKey, found: KeyWayOut) -> dict:
    seen = found.way_out.ci_system
    default = next((name for name, system in CI_SYSTEMS.items() if system is seen), "github")
    asked = "repository" in request.GET
    form = TrustPolicyForm(request.GET if asked else None, initial={"ci": default})
    context = {"trust_form": form, "trust_policy": "", "trust_error": ""}
    if not asked or not form.is_valid():
        return context
    system = CI_SYSTEMS[form.cleaned_data["ci"]]
    issuer = found.way_out.oidc_issuer if system is seen else ""
    try:
        context["trust_policy"] = oidc_trust_policy_json(
            system=system, account_id=key.account.account_id,
            repository=form.cleaned_data["repository"].strip(), issuer=issuer,
            ref=form.cleaned_data["ref"].strip())
    except ValueError as exc:
        context["trust_error"] = f"No trust policy for {CI_TEMPLATES[form.cleaned_data['ci']]}: "\
                                 f"{exc}"
    return context
