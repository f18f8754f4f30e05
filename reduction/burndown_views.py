"""The burn-down page, its CSV export and its JSON API: the same weeks, the same filters.

Anyone signed in may look: each sees the keys they may see (``AccessKey.objects.visible_to``),
the security team the organization. The filters offer only what the person may see: the
accounts holding a key of theirs, and (for the security team) a manager's team. A filter
outside that is refused as not valid, never answered.
"""

import csv
import io

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.exports import neutralise_formula

from .burndown import (
    FORECAST_WEEKS,
    SNAPSHOTS,
    BurnDown,
    Scope,
    accounts_for,
    burndown_of,
    teams_for,
)
from .burndown_chart import burndown_chart
from .models import MigrationPlan

CSV_COLUMNS = ("week_start", "active_keys", "keys_added", "keys_retired")


class AccountChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.account_id})"


class TeamChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.name or obj.email


class BurnDownFilterForm(forms.Form):
    """``?account=`` (an AWS account's pk) and ``?team=`` (a manager's pk), both optional,
    each among what ``person`` may see (``accounts_for``, ``teams_for``)."""

    PARAMETERS = ("account", "team")

    def __init__(self, data, *, person):
        super().__init__(data)
        self.person = person
        self.teams = teams_for(person)
        self.fields["account"] = AccountChoice(queryset=accounts_for(person), required=False,
                                               empty_label="All accounts")
        self.fields["team"] = TeamChoice(queryset=self.teams, required=False,
                                         empty_label="All teams", label="Manager's team")

    @property
    def offers_teams(self) -> bool:
        return self.teams.exists()

    def scope(self) -> Scope:
        return Scope(self.person, account=self.cleaned_data.get("account"),
                     team=self.cleaned_data.get("team"))


def _plans(shown: BurnDown, scope: Scope) -> list[tuple[str, str, int, str]]:
    """(state, label, plans, link): each count links to the plans list of that state when it
    counts exactly that list, i.e. when no filter narrows it (the list has no such filter)."""
    labels = dict(MigrationPlan.State.choices)
    return [(state, labels[state], n,
             "" if scope.filtered else f"{reverse('plans')}?state={state}")
            for state, n in shown.plans.items()]


@login_required
def burndown(request):
    """Active long-term keys week by week, added and retired, plans and the forecast."""
    filters = BurnDownFilterForm(request.GET, person=request.user)
    if not filters.is_valid():
        return render(request, "reduction/burndown.html", {"filters": filters}, status=400)
    scope = filters.scope()
    shown = burndown_of(scope, today=timezone.localdate())
    return render(request, "reduction/burndown.html", {
        "filters": filters, "shown": shown, "chart": burndown_chart(shown.weeks),
        "weeks": list(reversed(shown.weeks)), "plans": _plans(shown, scope),
        "from_snapshots": shown.source == SNAPSHOTS, "forecast_weeks": FORECAST_WEEKS,
        "query": request.GET.urlencode()})


@login_required
def burndown_export(request):
    """The page's weeks as CSV (``CSV_COLUMNS``), oldest first, with the page's filters."""
    filters = BurnDownFilterForm(request.GET, person=request.user)
    if not filters.is_valid():
        return HttpResponse("The filters are not valid: "
                            + "; ".join(f"{name}: {' '.join(errors)}"
                                        for name, errors in filters.errors.items()),
                            status=400, content_type="text/plain; charset=utf-8")
    shown = burndown_of(filters.scope(), today=timezone.localdate())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in _rows(shown):
        writer.writerow([neutralise_formula("" if value is None else str(value))
                         for value in row.values()])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="keyledger-burn-down-{stamp}.csv"'
    return response


def _rows(shown: BurnDown) -> list[dict]:
    return [{"week_start": w.start.isoformat(), "active_keys": w.active,
             "keys_added": w.added, "keys_retired": w.retired} for w in shown.weeks]


# -- the JSON API ----------------------------------------------------------------------------

class WeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="the week's Monday (UTC)")
    active_keys = serializers.IntegerField(
        allow_null=True, help_text="active long-term keys at the week's end (this week: now); "
                                   "null when the daily snapshots have no day in that week")
    keys_added = serializers.IntegerField(help_text="keys AWS created that week")
    keys_retired = serializers.IntegerField(
        help_text="keys seen deactivated, or deleted from AWS, that week")


class ForecastSerializer(serializers.Serializer):
    target = serializers.IntegerField(help_text="KEYLEDGER_BURNDOWN_TARGET")
    current = serializers.IntegerField(allow_null=True)
    pace_per_week = serializers.FloatField(
        allow_null=True, help_text=f"least-squares slope over the last {FORECAST_WEEKS} weeks")
    reached = serializers.BooleanField()
    date = serializers.DateField(allow_null=True,
                                 help_text="null: not at the current pace (flat or rising)")


class BurnDownSerializer(serializers.Serializer):
    # DRF's metaclass moves declared fields out of the class, so this does not replace
    # Field.source as the stubs believe.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["snapshots", "keys"], help_text="where active_keys comes from")
    weeks = WeekSerializer(many=True)
    forecast = ForecastSerializer()
    plans = serializers.DictField(child=serializers.IntegerField(),
                                  help_text="migration plans per state")


class BurnDownApiView(APIView):
    """The burn-down's weeks, oldest first, with the page's filters and forecast."""

    renderer_classes = [JSONRenderer]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="burn_down", tags=["burn-down"],
        parameters=[OpenApiParameter("account", int, description="an AWS account's id (pk)"),
                    OpenApiParameter("team", int, description="a manager's id: their team")],
        responses={200: BurnDownSerializer,
                   400: OpenApiResponse(description="a filter not valid for the caller")})
    def get(self, request):
        unknown = sorted(set(request.query_params) - set(BurnDownFilterForm.PARAMETERS))
        if unknown:  # as the lists answer a misspelt filter: never the unfiltered series
            return Response({name: ["Unknown query parameter."] for name in unknown},
                            status=400)
        filters = BurnDownFilterForm(request.query_params, person=request.user)
        if not filters.is_valid():
            return Response(filters.errors, status=400)
        shown = burndown_of(filters.scope(), today=timezone.localdate())
        forecast = shown.forecast
        return Response({
            "source": shown.source, "weeks": _rows(shown),
            "forecast": {"target": forecast.target, "current": forecast.current,
                         "pace_per_week": None if forecast.pace is None
                         else round(forecast.pace, 3),
                         "reached": forecast.reached,
                         "date": forecast.on.isoformat() if forecast.on else None},
            "plans": shown.plans})
