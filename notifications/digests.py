"""Digests: a manager's pending approvals and their reports' expiring exceptions (daily),
and the security team's weekly summary. Both are optional for the person receiving them."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import reverse

from accounts.models import Person
from accounts.roles import Role
from governance.models import DailySnapshot, ExceptionRequest, Finding, SyncRun
from governance.policy import Severity
from reduction.reminders import overdue_plans_of_reports, plan_digest_lines

from .messages import Message, absolute_url, iso_week
from .models import Kind

LISTED = 20  # items listed by name in a digest; the page has the rest


def _exception_line(exception: ExceptionRequest, text: str) -> str:
    path = reverse("exception-detail", args=[exception.pk])
    return f"{exception.code} on {exception.key} ({exception.requested_by.email}): {text} " \
           f"{absolute_url(path)}"


def _capped(lines: list[str], total: int) -> list[str]:
    return lines[:LISTED] + ([f"… and {total - LISTED} more."] if total > LISTED else [])


def manager_digests(*, now: datetime) -> list[Message]:
    """Per manager (anyone in the manager group or with reports), when there is something."""
    today = now.date()
    horizon = today + timedelta(days=settings.KEYLEDGER_EXCEPTION_WARNING_DAYS)
    managers = (Person.objects.filter(is_active=True)
                .filter(Q(groups__name=Role.MANAGER.value) | Q(reports__isnull=False)).distinct())
    related = ("key__account", "key__user", "requested_by")
    messages = []
    for manager in managers:
        pending = list(ExceptionRequest.objects.awaiting_decision_by(manager)
                       .select_related(*related).order_by("requested_at"))
        expiring = list(ExceptionRequest.objects.filter(
            status=ExceptionRequest.Status.APPROVED, expires_on__gte=today,
            expires_on__lte=horizon, requested_by__manager=manager)
            .select_related(*related).order_by("expires_on"))
        late = overdue_plans_of_reports(manager, today=today)
        if not pending and not expiring and not late:
            continue
        lines = []
        if pending:
            lines.append(f"{len(pending)} exception request(s) await your decision:")
            lines += _capped([_exception_line(e, f"asked until {e.expires_on}")
                              for e in pending], len(pending))
        if expiring:
            lines.append(f"{len(expiring)} exception(s) of your reports end within "
                         f"{settings.KEYLEDGER_EXCEPTION_WARNING_DAYS} days:")
            lines += _capped([_exception_line(e, f"ends {e.expires_on}") for e in expiring],
                             len(expiring))
        if late:  # migration plans of the reports' keys, past their target date (issue 17)
            lines.append(f"{len(late)} migration plan(s) of your reports are overdue:")
            lines += _capped(plan_digest_lines(late, today=today), len(late))
        messages.append(Message(
            recipient=manager, kind=Kind.MANAGER_DIGEST, subject="digest",
            period=today.isoformat(),
            title=f"{len(pending)} approval(s) waiting, {len(expiring)} exception(s) ending soon"
                  + (f", {len(late)} migration plan(s) overdue" if late else ""),
            lines=tuple(lines),
            action="Approve or reject each request (with an expiry), and make sure your "
                   "reports fix what their ending exceptions waive."
                   + (" Ask your reports when their overdue plans will be done." if late
                      else ""),
            path=f"{reverse('exceptions')}?tab=awaiting" if pending or expiring
            else f"{reverse('plans')}?overdue=true", digest=True))
    return messages


def _compliance_on(day) -> dict[str, int]:
    """Keys per compliance state on the last snapshot at or before ``day``."""
    last = (DailySnapshot.objects.filter(day__lte=day, dimension="compliance")
            .order_by("-day").values_list("day", flat=True).first())
    if last is None:
        return {}
    return dict(DailySnapshot.objects.filter(day=last, dimension="compliance")
                .values_list("name").annotate(n=Sum("count")).values_list("name", "n"))


def _trend_line(now: datetime) -> str:
    today, before = _compliance_on(now.date()), _compliance_on(now.date() - timedelta(days=7))
    if not today:
        return "Trend: no daily snapshot yet."
    parts = []
    for state in ("compliant", "excepted", "non_compliant"):
        n, delta = today.get(state, 0), today.get(state, 0) - before.get(state, 0)
        parts.append(f"{state.replace('_', '-')} {n}" + (f" ({delta:+d})" if before else ""))
    return "Keys: " + ", ".join(parts) + ("" if before else " (no snapshot a week ago)")


def security_summary(*, now: datetime) -> list[Message]:
    """The week in one message, to each security member and the chat channel."""
    since = now - timedelta(days=7)
    new = Finding.objects.filter(opened_at__gte=since, key__removed_at__isnull=True)
    severe = (new.filter(severity__in=[Severity.CRITICAL.value, Severity.HIGH.value])
              .values_list("severity", "code").annotate(n=Count("id")).order_by("severity",
                                                                                "code"))
    unowned = new.filter(code="NO_OWNER", resolved_at__isnull=True).count()
    failed = (SyncRun.objects.filter(status=SyncRun.Status.FAILED, started_at__gte=since)
              .values_list("account__name", "account__account_id").annotate(n=Count("id"))
              .order_by("account__name"))
    lines = ["New critical and high findings this week: "
             + (", ".join(f"{code} ({severity}) {n}" for severity, code, n in severe) or "none")
             + ".",
             f"New keys without an owner: {unowned}.",
             "Failed syncs: " + (", ".join(f"{name} ({account_id}) {n}"
                                           for name, account_id, n in failed) or "none") + ".",
             _trend_line(now)]
    team = list(Person.objects.filter(is_active=True, groups__name=Role.SECURITY.value))
    return [Message(recipient=recipient, kind=Kind.SECURITY_SUMMARY, subject="summary",
                    period=iso_week(now.date()), title=f"Weekly summary {iso_week(now.date())}",
                    lines=tuple(lines),
                    action="Assign owners to unowned keys and look at failed syncs first.",
                    path=reverse("ownership-gaps") if unowned else reverse("overview"),
                    digest=True)
            for recipient in [*team, None]]
