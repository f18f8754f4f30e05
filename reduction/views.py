"""Migration plan pages: open a plan for a key, a plan and its next step, the plans list.

Views are thin: visibility comes from the querysets (``reduction.selectors``), who may act
from ``governance.access``, and every change from ``reduction.services`` (audited), whose
refusals are shown as they are worded.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import GovernanceError
from governance.access import can_manage_key, key_for
from governance.views.paging import page_of
from governance.way_out import Path

from .facts import way_out_for_keys
from .forms import PlanFilterForm, PlanForm
from .models import MigrationPlan
from .selectors import plan_for, plan_history, plans_for
from .services import FORWARD, plan_advance, plan_open


@login_required
def plan_new(request, pk: int):
    """The key's owner (or security) commits to a path and a date; the recommended path is
    preselected. A key with an open plan goes to that plan instead."""
    key = key_for(request.user, pk)
    if not can_manage_key(request.user, key):
        raise PermissionDenied("Only the key's owner or the security team can plan its move.")
    today = timezone.localdate()
    found = way_out_for_keys([key], today=today)[key.pk]
    if found.open_plan is not None:
        messages.info(request, "This key already has an open plan.")
        return redirect("plan-detail", pk=found.open_plan.pk)
    recommended = found.way_out.path
    initial = {"target_date": PlanForm.default_target(today),
               "path": "" if recommended == Path.KEEP else recommended.value}
    form = PlanForm(request.POST or None, initial=initial, today=today)
    if request.method == "POST" and form.is_valid():
        try:
            plan = plan_open(actor=request.user, key=key, **form.cleaned_data)
        except GovernanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Planned: {plan.get_path_display()} by "
                                      f"{plan.target_date:%Y-%m-%d}.")
            return redirect("plan-detail", pk=plan.pk)
    return render(request, "reduction/plan_new.html", {"key": key, "form": form,
                                                       "way_out": found},
                  status=400 if form.is_bound else 200)


@login_required
def plan_detail(request, pk: int):
    """A plan: its key, path, date and state, the next steps its owner may take, history."""
    plan = plan_for(request.user, pk)
    may_act = can_manage_key(request.user, plan.key)
    steps = [MigrationPlan.State(s) for s in sorted(FORWARD.get(plan.state, ()))] \
        if may_act else []
    return render(request, "reduction/plan_detail.html", {
        "plan": plan, "key": plan.key, "steps": steps, "history": plan_history(plan),
        "overdue": plan.state != MigrationPlan.State.DONE
        and plan.target_date < timezone.localdate(),
        "key_active": plan.key.status == plan.key.Status.ACTIVE})


@login_required
@require_POST
def plan_advance_view(request, pk: int):
    """Move the plan one step forward (``state`` posted); the service refuses ``replaced``
    while the last sync saw the key active, and ``done`` always (a sync closes a plan)."""
    plan = plan_for(request.user, pk)
    if not can_manage_key(request.user, plan.key):
        raise PermissionDenied("Only the key's owner or the security team can move its plan.")
    try:
        plan = plan_advance(actor=request.user, plan=plan, state=request.POST.get("state", ""))
    except GovernanceError as exc:
        messages.error(request, str(exc)[:300])
    else:
        messages.success(request, f"The plan is now {plan.get_state_display().lower()}.")
    return redirect("plan-detail", pk=plan.pk)


@login_required
def plan_list(request):
    """The plans the person may see, by target date: ``?state=``, ``?overdue=true``."""
    filters = PlanFilterForm(request.GET)
    valid = filters.is_valid()
    chosen = filters.cleaned_data if valid else {}
    plans = plans_for(request.user, today=timezone.localdate(), state=chosen.get("state", ""),
                      overdue=chosen.get("overdue", False)) if valid \
        else MigrationPlan.objects.none()
    page, query = page_of(request, plans)
    return render(request, "reduction/plan_list.html", {
        "filters": filters, "page": page, "query": query, "today": timezone.localdate(),
        "filtered": bool(chosen.get("state") or chosen.get("overdue"))},
        status=200 if valid else 400)
