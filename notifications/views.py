"""The security team's Outbox and each person's notification preference."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from governance.access import security_required
from governance.views.paging import page_of

from .forms import PreferenceForm
from .models import Kind, Notification, NotificationPreference
from .services import notification_preference_set


@security_required
def outbox(request):
    """Every message sent (or, in the demo, that would have been), newest first."""
    sent = Notification.objects.filter(sent_at__isnull=False).order_by("-sent_at", "-pk")
    kind = request.GET.get("kind", "")
    if kind in Kind.values:
        sent = sent.filter(kind=kind)
    page, query = page_of(request, sent)
    return render(request, "notifications/outbox.html", {
        "page": page, "query": query, "kinds": Kind.choices, "kind": kind})


@login_required
def preferences(request):
    """Opt in or out of digests."""
    current = NotificationPreference.objects.filter(person=request.user).first()
    # Bound on every POST: an unticked box posts nothing, which still means "off".
    form = PreferenceForm(request.POST if request.method == "POST" else None,
                          initial={"digests": current.digests if current else True})
    if request.method == "POST" and form.is_valid():
        notification_preference_set(person=request.user, digests=form.cleaned_data["digests"])
        messages.success(request, "Digests are now "
                         + ("on." if form.cleaned_data["digests"] else "off."))
        return redirect("notification-preferences")
    return render(request, "notifications/preferences.html", {"form": form})
