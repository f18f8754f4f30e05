"""``run_demo``: the path ``make demo`` takes, seeding and syncing, then serving."""

import io
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory
from django.utils import timezone

import governance.management.commands.run_demo as run_demo
from accounts.models import Person
from demo.activity import DECLARED_SOURCES, DECLARED_USER, UNDECLARED_ADDRESS
from evidence.models import KeyUsageAddress, KeyUsageDay
from governance.models import (
    AccessKey,
    AuditEvent,
    AwsAccount,
    DailySnapshot,
    Registration,
    SyncRun,
)
from governance.trends import snapshot_take
from notifications.models import Notification
from reduction.facts import key_way_out
from reduction.models import IdentityCenterPerson, MigrationPlan, OidcProviderListing
from tests.conftest import fake_aws_credentials, shared_transaction

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="class")
def _served_demo(django_db_setup, django_db_blocker, _moto_server):
    """``run_demo --addr 127.0.0.1:8123 --history-days 1`` once, as ``make demo PORT=8123``
    runs it but with no ``KEYLEDGER_BASE_URL``, for the tests that only read what it made and
    printed (in one transaction they nest in, rolled back after them, before the tests that
    need a fresh database; moto wiped after). ``runserver`` is replaced by a probe that
    records what it would have served: mail links, DEBUG off (the app's own 404 page),
    static files still served."""
    served = {}
    real_call_command = run_demo.call_command

    def fake_call_command(name, *args, **options):
        if name != "runserver":
            return real_call_command(name, *args, **options)
        served.update(args=args, options=options, debug=settings.DEBUG)
        client = Client(HTTP_HOST="127.0.0.1")
        missing = client.get("/no-such-page/")
        served["missing"] = (missing.status_code, missing.content.decode())
        served["static"] = _static_status("/static/keyledger/keyledger.css")
        served["mail"] = list(Notification.objects.values_list("url", flat=True))
        return None

    with shared_transaction(django_db_blocker):
        with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as monkeypatch:
            fake_aws_credentials(monkeypatch)
            monkeypatch.delenv("KEYLEDGER_BASE_URL", raising=False)
            monkeypatch.setattr(run_demo, "call_command", fake_call_command)
            out = io.StringIO()
            try:
                call_command("run_demo", "--addr", "127.0.0.1:8123", "--history-days", "1",
                             stdout=out)
            finally:
                _moto_server.reset()
        yield out.getvalue(), served


@pytest.fixture
def demo_output(_served_demo, db):
    """What the served demo printed; the database holds what it made."""
    return _served_demo[0]


class TestOneServedRunWithADayOfHistory:
    """Tests that only read what one served ``run_demo --history-days 1`` made."""

    def test_demo_seeds_discovers_and_syncs_every_account(self, demo_output):
        text = demo_output
        assert "password for all:" in text
        names = set(AwsAccount.objects.values_list("name", flat=True))
        assert {"prod", "staging", "dev", "legacy"} <= names
        assert SyncRun.objects.exclude(status=SyncRun.Status.SUCCEEDED).count() == 0
        assert AccessKey.objects.filter(user__name="<root_account>").count() == 1
        assert 75 <= AccessKey.objects.count() <= 90
        security = Person.objects.get(email="priya.raman@example.com")
        assert security.is_security and security.check_password(
            text.split("password for all: ")[1].split(")")[0])
        # Who reports to whom, as the people page of a new user would want it.
        chen = next(line for line in text.splitlines() if "chen.wei@example.com" in line)
        assert chen.endswith("reports to marcus.lee@example.com")
        with pytest.raises(CommandError, match="needs a fresh one"):
            call_command("run_demo", "--no-serve", stdout=io.StringIO())

    def test_demo_has_identity_center_people_an_oidc_provider_and_plans_in_three_states(
            self, demo_output):
        prod = AwsAccount.objects.get(name="prod")
        assert OidcProviderListing.objects.get(account=prod).issuers == (
            "token.actions.githubusercontent.com",)
        others = list(OidcProviderListing.objects.exclude(account=prod)
                      .values_list("providers", flat=True))
        assert others == [[]] * (AwsAccount.objects.count() - 1)  # every account read: none
        alice = IdentityCenterPerson.objects.get(email="alice.nguyen@example.com")
        assert ("Developer", prod.account_id, "") in set(alice.assignments.values_list(
            "permission_set_name", "account_id", "via_group_id"))
        assert IdentityCenterPerson.objects.filter(email="dana.kowalski@example.com").exclude(
            user_id="").exists()
        assert IdentityCenterPerson.objects.filter(user_id="").exists()  # owners with no user
        plans = {plan.key.user.name: (plan.state, plan.path, plan.opened_by == plan.key.owner)
                 for plan in MigrationPlan.objects.select_related("key__user", "key__owner")}
        assert plans == {"svc-github-actions": ("planned", "oidc_federation", True),
                         "alice.nguyen": ("in_progress", "identity_center", True),
                         "app-payments-batch": ("replaced", "iam_role", True)}
        assert AuditEvent.objects.filter(action="plan.open").count() == 3
        alice_key = AccessKey.objects.get(account=prod, user__name="alice.nguyen")
        way_out = key_way_out(alice_key, today=timezone.localdate())
        assert way_out["path"] == "identity_center" and way_out["plan"] is not None
        assert "migration plans: svc-github-actions (planned)" in demo_output

    def test_the_demo_reads_30_days_of_trail_and_one_key_was_used_from_an_undeclared_address(
            self, demo_output):
        assert "2 of 2 accounts read" in demo_output  # the accounts whose trail logs
        prod = AwsAccount.objects.get(name="prod")
        key = AccessKey.objects.get(account=prod, user__name=DECLARED_USER, status="Active")
        registration = Registration.objects.get(key=key, superseded_at__isnull=True)
        assert registration.declared_sources == list(DECLARED_SOURCES)
        assert registration.owner == key.owner
        assert AuditEvent.objects.filter(action="key.register_purpose",
                                         object_id=str(key.pk)).exists()
        days = KeyUsageDay.objects.filter(access_key_id=key.access_key_id)
        assert days.count() >= 10 and {d.account_id for d in days} == {prod.account_id}
        stranger = KeyUsageAddress.objects.filter(access_key_id=key.access_key_id,
                                                  address=UNDECLARED_ADDRESS)
        assert stranger.count() >= 2
        home = KeyUsageAddress.objects.filter(access_key_id=key.access_key_id).exclude(
            address=UNDECLARED_ADDRESS).values_list("address", flat=True)
        assert home and all(address.startswith("192.0.2.") for address in home)
        # Active keys of prod and staging used in the window have evidence; inactive keys and
        # the accounts without a logging trail (dev, legacy) have none.
        with_evidence = set(KeyUsageDay.objects.values_list("access_key_id", flat=True))
        inactive = set(AccessKey.objects.filter(status="Inactive").values_list(
            "access_key_id", flat=True))
        untrailed = set(AccessKey.objects.filter(account__name__in=("dev", "legacy"))
                        .values_list("access_key_id", flat=True))
        assert len(with_evidence) >= 20 and not (with_evidence & (inactive | untrailed))
        assert UNDECLARED_ADDRESS in demo_output

    def test_served_demo_links_mail_to_its_address_and_shows_keyledgers_404(
            self, _served_demo):
        _output, served = _served_demo
        assert served["args"] == ("127.0.0.1:8123",) and served["options"]["insecure_serving"]
        assert served["debug"] is False
        status, html = served["missing"]
        assert status == 404 and "There is nothing here" in html and "Keyledger" in html
        assert "Django" not in html and "URLconf" not in html
        assert served["static"] == 200
        assert served["mail"] and all(url.startswith("http://127.0.0.1:8123/")
                                      for url in served["mail"] if url)


def test_demo_replays_120_days_of_snapshots_so_the_trend_is_a_line(moto_server):
    out = io.StringIO()

    call_command("run_demo", "--no-serve", stdout=out)

    today = timezone.localdate()
    days = sorted(set(DailySnapshot.objects.values_list("day", flat=True)))
    assert days == [today - timedelta(days=back) for back in range(119, -1, -1)]
    assert "Trend history: 120 days" in out.getvalue()

    def total(day, dimension, name):
        return sum(DailySnapshot.objects.filter(day=day, dimension=dimension, name=name)
                   .values_list("count", flat=True))

    # Keys appear on the day AWS created them, go on the day they were retired (more went
    # than came: the burn-down goes down), and age into rotation findings.
    active = [total(day, "keys", "active") for day in days]
    overdue = [total(day, "code", "ROTATION_OVERDUE") for day in days]
    assert active[-1] == AccessKey.objects.filter(removed_at__isnull=True,
                                                  status="Active").count()
    assert active[0] > active[-1]
    assert AccessKey.objects.filter(removed_at__date__gte=days[0]).count() == 119
    assert len(set(overdue)) > 3  # a line that moves, not a flat one
    # Only snapshots were kept: today's counts taken again from the keys are the same.
    def today_rows():
        return set(DailySnapshot.objects.filter(day=today).values_list(
            "account_id", "dimension", "name", "count"))

    taken_before_the_replay = today_rows()
    snapshot_take()
    assert today_rows() == taken_before_the_replay


def test_make_demo_takes_port_and_points_mail_links_at_it():
    commands = subprocess.run(["make", "-n", "demo", "PORT=8123"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    run = next(line for line in commands.splitlines() if "run_demo" in line)
    assert "KEYLEDGER_BASE_URL=http://127.0.0.1:8123 " in run
    assert run.endswith("run_demo --addr 127.0.0.1:8123")
    default = subprocess.run(["make", "-n", "demo"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    assert "KEYLEDGER_BASE_URL=http://127.0.0.1:8000 " in default


def _static_status(path: str) -> int:
    """The status runserver's static handler (``--insecure``) answers for ``path``."""
    response = StaticFilesHandler(WSGIHandler()).get_response(RequestFactory().get(path))
    b"".join(response.streaming_content)
    return response.status_code
