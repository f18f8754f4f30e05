"""The collector against in-process moto, in several accounts reached by assume-role."""

import json
from collections import Counter
from datetime import datetime

import pytest
from moto.iam.models import AccessKeyLastUsed, AWSManagedPolicy, IAMBackend, iam_backends

from governance.aws.credential_report import ROOT_ROW_USER
from tests.conftest import account_clients

from .helpers import ACCOUNT_A, ACCOUNT_B, utc

pytestmark = pytest.mark.usefixtures("aws")


def policy(*actions: str) -> dict:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


def backend(account_id: str):
    return iam_backends[account_id]["aws"]


def backdate(account_id: str, key_id: str, created: datetime, used: datetime | None = None,
             service: str = "", region: str = "") -> None:
    """Set a key's creation and last use in moto (naive UTC, as moto keeps them)."""
    key = backend(account_id).access_keys[key_id]
    key.create_date = created.replace(tzinfo=None)
    if used is not None:
        key.last_used = AccessKeyLastUsed(timestamp=used.replace(tzinfo=None), service=service,
                                          region=region)


def build_account_a() -> dict[str, str]:
    """alice (2 keys, one inactive), bob (1 key), carol (no key); groups, policies, tags."""
    iam = account_clients(ACCOUNT_A).client("iam")
    iam.create_group(GroupName="devs")
    iam.put_group_policy(GroupName="devs", PolicyName="devs-inline",
                         PolicyDocument=json.dumps(policy("ec2:Describe*")))
    dev_arn = iam.create_policy(PolicyName="DevPolicy", PolicyDocument=json.dumps(
        policy("logs:GetLogEvents")))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="devs", PolicyArn=dev_arn)
    alice_arn = iam.create_policy(PolicyName="AlicePolicy", PolicyDocument=json.dumps(
        policy("s3:GetObject")))["Policy"]["Arn"]

    iam.create_user(UserName="alice", Tags=[{"Key": "team", "Value": "payments"},
                                            {"Key": "owner", "Value": "alice@example.com"}])
    iam.create_login_profile(UserName="alice", Password="Passw0rd!Passw0rd!")
    iam.add_user_to_group(UserName="alice", GroupName="devs")
    iam.put_user_policy(UserName="alice", PolicyName="alice-inline",
                        PolicyDocument=json.dumps(policy("sqs:SendMessage")))
    iam.attach_user_policy(UserName="alice", PolicyArn=alice_arn)
    keys = {"alice1": iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"],
            "alice2": iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]}
    iam.update_access_key(UserName="alice", AccessKeyId=keys["alice2"], Status="Inactive")

    iam.create_user(UserName="bob", Path="/ops/")
    keys["bob"] = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]

    iam.create_user(UserName="carol")
    iam.add_user_to_group(UserName="carol", GroupName="devs")

    backdate(ACCOUNT_A, keys["alice1"], utc(2021, 6, 7, 8, 9, 10, 500000),
             used=utc(2025, 3, 4, 5, 6, 7), service="s3", region="eu-west-1")
    backdate(ACCOUNT_A, keys["alice2"], utc(2022, 2, 3, 4, 5, 6))
    backdate(ACCOUNT_A, keys["bob"], utc(2023, 1, 1, 0, 0, 1),
             used=utc(2025, 1, 2, 3, 4, 5), service="ec2", region="us-west-2")
    keys["dev_policy"], keys["alice_policy"] = dev_arn, alice_arn
    return keys


def build_account_b() -> str:
    iam = account_clients(ACCOUNT_B).client("iam")
    iam.create_user(UserName="dave")
    return iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]


def by_name(snapshot):
    return {u.name: u for u in snapshot.users}


def keys_by_id(snapshot):
    return {k.access_key_id: k for k in snapshot.keys}


def test_users_groups_policies_tags(collect):
    ids = build_account_a()
    snapshot, _, _ = collect(ACCOUNT_A)

    users = by_name(snapshot)
    assert set(users) == {"alice", "bob", "carol"}
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    assert alice.arn == f"arn:aws:iam::{ACCOUNT_A}:user/alice"
    iam = account_clients(ACCOUNT_A).client("iam")
    assert alice.user_id == iam.get_user(UserName="alice")["User"]["UserId"]
    assert alice.path == "/"
    assert bob.path == "/ops/" and bob.arn == f"arn:aws:iam::{ACCOUNT_A}:user/ops/bob"
    assert isinstance(alice.created_at, datetime) and alice.created_at.tzinfo is not None
    assert alice.tags == (("team", "payments"), ("owner", "alice@example.com"))
    assert bob.tags == () and bob.group_names == () and bob.policies == ()
    assert alice.group_names == ("devs",) and carol.group_names == ("devs",)
    # Login: from the credential report.
    assert alice.password_enabled is True and bob.password_enabled is False

    refs = {(p.source, p.name): p for p in alice.policies}
    assert set(refs) == {("user-inline", "alice-inline"), ("user-attached", "AlicePolicy"),
                         ("group-inline", "devs-inline"), ("group-attached", "DevPolicy")}
    assert refs["user-inline", "alice-inline"].document == policy("sqs:SendMessage")
    assert refs["user-inline", "alice-inline"].arn == ""
    assert refs["user-attached", "AlicePolicy"].document == policy("s3:GetObject")
    assert refs["user-attached", "AlicePolicy"].arn == ids["alice_policy"]
    assert refs["group-inline", "devs-inline"].document == policy("ec2:Describe*")
    assert refs["group-inline", "devs-inline"].group == "devs"
    assert refs["group-attached", "DevPolicy"].document == policy("logs:GetLogEvents")
    assert refs["group-attached", "DevPolicy"].arn == ids["dev_policy"]
    assert refs["group-attached", "DevPolicy"].group == "devs"
    assert {(p.source, p.name) for p in carol.policies} == {
        ("group-inline", "devs-inline"), ("group-attached", "DevPolicy")}


def test_keys_dates_and_last_use(collect):
    ids = build_account_a()
    snapshot, session, _ = collect(ACCOUNT_A)

    users = by_name(snapshot)
    keys = keys_by_id(snapshot)
    assert set(keys) == {ids["alice1"], ids["alice2"], ids["bob"]}

    used = keys[ids["alice1"]]
    assert used.user_id == users["alice"].user_id and used.status == "Active"
    assert used.created_at == utc(2021, 6, 7, 8, 9, 10, 500000)
    assert used.last_used_at == utc(2025, 3, 4, 5, 6, 7)
    # moto's credential report says "not_supported" for region and service: the snapshot
    # carries "" (unknown), never the sentinel.
    assert (used.last_used_service, used.last_used_region) == ("", "")

    inactive = keys[ids["alice2"]]
    assert inactive.status == "Inactive" and inactive.user_id == users["alice"].user_id
    assert inactive.created_at == utc(2022, 2, 3, 4, 5, 6)
    assert inactive.last_used_at is None
    assert (inactive.last_used_service, inactive.last_used_region) == ("", "")

    bob = keys[ids["bob"]]
    assert bob.user_id == users["bob"].user_id
    assert bob.created_at == utc(2023, 1, 1, 0, 0, 1)
    assert bob.last_used_at == utc(2025, 1, 2, 3, 4, 5)
    for key in snapshot.keys:
        assert key.created_at.utcoffset().total_seconds() == 0
    # Every key was joined to its report slot: no per-key fallback call.
    assert session.calls["iam:GetAccessKeyLastUsed"] == 0
    assert not snapshot.root_keys_present
    assert ROOT_ROW_USER not in users
    assert snapshot.credential_report_at == utc(2015, 2, 2, 20, 2, 2)  # moto's fixed stamp


def test_service_and_region_come_through_when_the_report_has_them(collect, monkeypatch):
    """Real AWS fills the report's region/service columns; moto does not: make it."""
    ids = build_account_a()
    original = IAMBackend.get_credential_report

    def with_regions(self):
        lines = original(self).splitlines()
        out = [lines[0]]
        for line in lines[1:]:
            fields = line.split(",")
            if fields[10] != "N/A":  # slot 1 used
                fields[11:13] = ["eu-west-1", "s3"]
            out.append(",".join(fields))
        return "\n".join(out) + "\n"

    monkeypatch.setattr(IAMBackend, "get_credential_report", with_regions)
    snapshot, _, _ = collect(ACCOUNT_A)
    used = keys_by_id(snapshot)[ids["alice1"]]
    assert (used.last_used_service, used.last_used_region) == ("s3", "eu-west-1")


def test_two_keys_created_in_the_same_second_keep_their_own_last_use(collect):
    """The report's slot dates have whole seconds: two keys of one second are ambiguous."""
    iam = account_clients(ACCOUNT_A).client("iam")
    iam.create_user(UserName="erin")
    first = iam.create_access_key(UserName="erin")["AccessKey"]["AccessKeyId"]
    second = iam.create_access_key(UserName="erin")["AccessKey"]["AccessKeyId"]
    backdate(ACCOUNT_A, first, utc(2024, 1, 1, 0, 0, 0, 100000),
             used=utc(2024, 2, 1), service="s3", region="eu-west-1")
    backdate(ACCOUNT_A, second, utc(2024, 1, 1, 0, 0, 0, 900000))

    snapshot, session, _ = collect(ACCOUNT_A)
    keys = keys_by_id(snapshot)
    assert keys[first].last_used_at == utc(2024, 2, 1)
    assert keys[second].last_used_at is None
    # Ambiguous in the report: each key asked for its own last use (which has the service).
    assert session.calls["iam:GetAccessKeyLastUsed"] == 2
    assert (keys[first].last_used_service, keys[first].last_used_region) == ("s3", "eu-west-1")
    assert (keys[second].last_used_service, keys[second].last_used_region) == ("", "")


def test_no_list_access_keys_for_users_without_keys(collect):
    build_account_a()
    iam = account_clients(ACCOUNT_A).client("iam")
    for n in range(5):
        iam.create_user(UserName=f"keyless-{n}")
    snapshot, session, _ = collect(ACCOUNT_A)
    assert len(snapshot.users) == 8
    assert session.calls["iam:ListAccessKeys"] == 2  # alice and bob only


def test_exact_calls_for_a_small_account(collect):
    build_account_a()
    snapshot, session, sleeps = collect(ACCOUNT_A)
    expected = {
        "sts:AssumeRole": 1,
        "iam:GetAccountAuthorizationDetails": 1,
        "iam:GenerateCredentialReport": 2,  # moto: STARTED, then COMPLETE
        "iam:GetCredentialReport": 1,
        "iam:ListAccessKeys": 2,
        "iam:GetAccountSummary": 1,
        "cloudtrail:DescribeTrails": 1,
    }
    assert dict(session.calls) == expected
    assert snapshot.calls_by_action == expected
    assert sleeps == [0.5]  # one back-off before the second poll


def test_calls_grow_by_one_per_user_with_keys(collect):
    iam = account_clients(ACCOUNT_A).client("iam")
    for n in range(12):
        iam.create_user(UserName=f"u{n}")
        if n % 2 == 0:
            iam.create_access_key(UserName=f"u{n}")
    snapshot, session, _ = collect(ACCOUNT_A)
    assert len(snapshot.keys) == 6
    # N users with keys + 7 fixed calls (AssumeRole included)
    assert sum(session.calls.values()) == 6 + 7
    assert session.calls["iam:ListAccessKeys"] == 6


def test_accounts_are_isolated(collect):
    ids = build_account_a()
    dave_key = build_account_b()
    a, session_a, _ = collect(ACCOUNT_A)
    b, session_b, _ = collect(ACCOUNT_B)

    assert a.account_id == ACCOUNT_A and b.account_id == ACCOUNT_B
    assert set(by_name(a)) == {"alice", "bob", "carol"}
    assert set(by_name(b)) == {"dave"}
    assert by_name(b)["dave"].arn == f"arn:aws:iam::{ACCOUNT_B}:user/dave"
    assert set(keys_by_id(b)) == {dave_key}
    assert dave_key not in keys_by_id(a) and ids["alice1"] not in keys_by_id(b)
    assert keys_by_id(b)[dave_key].user_id == by_name(b)["dave"].user_id
    assert session_b.calls["iam:ListAccessKeys"] == 1
    assert session_a.calls is not session_b.calls


def test_shared_calls_counter_adds_up_across_accounts(collect):
    from governance.aws.session import assumed_session

    build_account_a()
    build_account_b()
    calls = Counter()
    for account in (ACCOUNT_A, ACCOUNT_B):
        collect(assumed_session(account_id=account, external_id="xx", calls=calls,
                                role_arn=f"arn:aws:iam::{account}:role/KeyledgerReader"))
    assert calls["sts:AssumeRole"] == 2
    assert calls["iam:ListAccessKeys"] == 3


# -- root --------------------------------------------------------------------------------------

ROOT_LINE = (
    "<root_account>,arn:aws:iam::{account}:root,2019-03-04T05:06:07+00:00,not_supported,"
    "2024-01-02T03:04:05+00:00,not_supported,not_supported,true,"
    "{active1},2019-04-01T00:00:00+00:00,2024-02-03T04:05:06+00:00,us-east-1,iam,"
    "false,2019-05-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A"
)


def add_root_row(monkeypatch, active1: str = "true"):
    original = IAMBackend.get_credential_report

    def with_root(self):
        report = original(self)
        header, _, rest = report.partition("\n")
        return f"{header}\n{ROOT_LINE.format(account=self.account_id, active1=active1)}\n{rest}"

    monkeypatch.setattr(IAMBackend, "get_credential_report", with_root)


def test_root_keys_from_account_summary(collect):
    build_account_b()
    backend(ACCOUNT_B).account_summary._account_access_keys_present = 1
    snapshot, _, _ = collect(ACCOUNT_B)

    assert snapshot.root_keys_present
    root = by_name(snapshot)[ROOT_ROW_USER]
    assert root.user_id == ACCOUNT_B and root.arn == f"arn:aws:iam::{ACCOUNT_B}:root"
    root_keys = [k for k in snapshot.keys if k.access_key_id is None]
    assert len(root_keys) == 1
    assert root_keys[0].user_id == ACCOUNT_B and root_keys[0].status == "Active"
    assert root_keys[0].slot == 1
    # The other account's summary is untouched.
    a, _, _ = collect(ACCOUNT_A)
    assert not a.root_keys_present and ROOT_ROW_USER not in by_name(a)


def test_root_row_in_the_report(collect, monkeypatch):
    build_account_b()
    add_root_row(monkeypatch)
    snapshot, session, _ = collect(ACCOUNT_B)

    assert snapshot.root_keys_present  # from the report alone: the summary says 0
    root = by_name(snapshot)[ROOT_ROW_USER]
    assert root.arn == f"arn:aws:iam::{ACCOUNT_B}:root" and root.user_id == ACCOUNT_B
    assert root.created_at == utc(2019, 3, 4, 5, 6, 7)
    assert root.password_enabled is False  # "not_supported"
    assert root.password_last_used_at == utc(2024, 1, 2, 3, 4, 5)
    root_keys = sorted((k for k in snapshot.keys if k.access_key_id is None),
                       key=lambda k: k.slot)
    assert [(k.slot, k.status) for k in root_keys] == [(1, "Active"), (2, "Inactive")]
    assert root_keys[0].created_at == utc(2019, 4, 1)
    assert root_keys[0].last_used_at == utc(2024, 2, 3, 4, 5, 6)
    assert (root_keys[0].last_used_service, root_keys[0].last_used_region) == ("iam", "us-east-1")
    assert root_keys[1].created_at == utc(2019, 5, 1) and root_keys[1].last_used_at is None
    # The root row is not a user to list keys for.
    assert session.calls["iam:ListAccessKeys"] == 1
    assert len([u for u in snapshot.users if u.name == ROOT_ROW_USER]) == 1


def test_root_row_and_summary_do_not_double_count(collect, monkeypatch):
    build_account_b()
    add_root_row(monkeypatch)
    backend(ACCOUNT_B).account_summary._account_access_keys_present = 1
    snapshot, _, _ = collect(ACCOUNT_B)
    assert len([k for k in snapshot.keys if k.access_key_id is None]) == 2
    assert len([u for u in snapshot.users if u.name == ROOT_ROW_USER]) == 1


def test_inactive_root_keys_only(collect, monkeypatch):
    build_account_b()
    add_root_row(monkeypatch, active1="false")
    snapshot, _, _ = collect(ACCOUNT_B)
    root_keys = [k for k in snapshot.keys if k.access_key_id is None]
    assert {k.status for k in root_keys} == {"Inactive"} and len(root_keys) == 2
    assert not snapshot.root_keys_present


# -- CloudTrail --------------------------------------------------------------------------------

def trail(account_id: str, name: str, *, multi_region: bool, logging: bool,
          region: str = "us-east-1") -> None:
    boto = account_clients(account_id)
    s3 = boto.client("s3", region_name=region)
    bucket = f"trail-{name}-{account_id}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket,
                         CreateBucketConfiguration={"LocationConstraint": region})
    cloudtrail = boto.client("cloudtrail", region_name=region)
    cloudtrail.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region)
    if logging:
        cloudtrail.start_logging(Name=name)


def test_no_trail(collect):
    snapshot, session, _ = collect(ACCOUNT_A)
    assert snapshot.cloudtrail_logging is False and snapshot.trails == ()
    assert session.calls["cloudtrail:GetTrailStatus"] == 0


def test_multi_region_logging_trail(collect):
    trail(ACCOUNT_A, "org-trail", multi_region=True, logging=True)
    snapshot, session, _ = collect(ACCOUNT_A)
    assert snapshot.cloudtrail_logging is True
    (only,) = snapshot.trails
    assert only.name == "org-trail" and only.multi_region and only.logging is True
    assert only.home_region == "us-east-1"
    assert only.arn == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT_A}:trail/org-trail"
    assert session.calls["cloudtrail:GetTrailStatus"] == 1


def test_multi_region_trail_not_logging(collect):
    trail(ACCOUNT_A, "stopped", multi_region=True, logging=False)
    snapshot, _, _ = collect(ACCOUNT_A)
    assert snapshot.cloudtrail_logging is False
    assert snapshot.trails[0].logging is False


def test_single_region_logging_trail_is_not_enough(collect):
    trail(ACCOUNT_A, "local", multi_region=False, logging=True)
    snapshot, session, _ = collect(ACCOUNT_A)
    assert snapshot.cloudtrail_logging is False
    assert snapshot.trails[0].multi_region is False
    assert session.calls["cloudtrail:GetTrailStatus"] == 0


def test_one_logging_trail_among_several(collect):
    trail(ACCOUNT_A, "stopped", multi_region=True, logging=False)
    trail(ACCOUNT_A, "working", multi_region=True, logging=True)
    trail(ACCOUNT_B, "other-account", multi_region=True, logging=False)
    snapshot, _, _ = collect(ACCOUNT_A)
    assert snapshot.cloudtrail_logging is True
    assert {t.name for t in snapshot.trails} == {"stopped", "working"}
    b, _, _ = collect(ACCOUNT_B)
    assert b.cloudtrail_logging is False  # A's logging trail does not count for B


def test_user_newer_than_the_report_is_still_listed(collect, monkeypatch):
    """A user missing from an (hours-old) report: keys listed, last use asked per key."""
    ids = build_account_a()
    original = IAMBackend.get_credential_report
    monkeypatch.setattr(IAMBackend, "get_credential_report", lambda self: "\n".join(
        line for line in original(self).splitlines() if not line.startswith("bob,")) + "\n")
    snapshot, session, _ = collect(ACCOUNT_A)
    bob = keys_by_id(snapshot)[ids["bob"]]
    assert bob.created_at == utc(2023, 1, 1, 0, 0, 1)
    assert bob.last_used_at == utc(2025, 1, 2, 3, 4, 5)
    assert (bob.last_used_service, bob.last_used_region) == ("ec2", "us-west-2")
    assert session.calls["iam:ListAccessKeys"] == 2
    assert session.calls["iam:GetAccessKeyLastUsed"] == 1


READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
READ_ONLY_DOCUMENT = policy("s3:Get*", "iam:List*")


def add_aws_managed_policy(account_id: str) -> None:
    """One AWS-managed policy in moto (loading all 1,582 of them costs seconds)."""
    managed = AWSManagedPolicy.from_data("ReadOnlyAccess", account_id, "us-east-1", {
        "DefaultVersionId": "v7", "Path": "/", "Document": READ_ONLY_DOCUMENT,
        "CreateDate": "2015-02-06T18:39:48+00:00", "UpdateDate": "2024-01-01T00:00:00+00:00"})
    be = backend(account_id)
    be.managed_policies[managed.arn] = managed
    be.aws_managed_policies.append(managed)


def test_aws_managed_documents_are_fetched_once_across_accounts(collect, store):
    for account in (ACCOUNT_A, ACCOUNT_B):
        add_aws_managed_policy(account)
        iam = account_clients(account).client("iam")
        iam.create_group(GroupName="readers")
        iam.attach_group_policy(GroupName="readers", PolicyArn=READ_ONLY)
        for name in ("reader1", "reader2"):
            iam.create_user(UserName=name)
            iam.attach_user_policy(UserName=name, PolicyArn=READ_ONLY)
            iam.add_user_to_group(UserName=name, GroupName="readers")
    a, session_a, _ = collect(ACCOUNT_A)
    b, session_b, _ = collect(ACCOUNT_B)

    assert store.puts == [READ_ONLY]
    assert store.documents[READ_ONLY] == ("v7", READ_ONLY_DOCUMENT)
    assert (session_a.calls["iam:GetPolicy"], session_a.calls["iam:GetPolicyVersion"]) == (1, 1)
    assert (session_b.calls["iam:GetPolicy"], session_b.calls["iam:GetPolicyVersion"]) == (0, 0)
    for snapshot in (a, b):
        for user in snapshot.users:
            assert {(r.source, r.arn, r.name, r.group) for r in user.policies} == {
                ("user-attached", READ_ONLY, "ReadOnlyAccess", ""),
                ("group-attached", READ_ONLY, "ReadOnlyAccess", "readers")}
            assert all(r.document == READ_ONLY_DOCUMENT for r in user.policies)


def test_multi_region_trail_homed_in_another_region(collect):
    """A multi-region trail shows in every region (shadow trail): its status is read by ARN."""
    trail(ACCOUNT_A, "eu-home", multi_region=True, logging=True, region="eu-west-1")
    snapshot, _, _ = collect(ACCOUNT_A)
    (only,) = snapshot.trails
    assert only.home_region == "eu-west-1" and only.logging is True
    assert snapshot.cloudtrail_logging is True


def test_a_long_key_listing_reports_progress_so_the_heartbeat_stays_fresh(collect):
    iam = account_clients(ACCOUNT_A).client("iam")
    for n in range(5):
        iam.create_user(UserName=f"svc-{n}")
        iam.create_access_key(UserName=f"svc-{n}")
    phases, ticks = [], iter(range(0, 1000, 6))  # each look at the clock: 6 s later

    snapshot, _, _ = collect(ACCOUNT_A, on_phase=phases.append, clock=lambda: next(ticks))

    assert len(snapshot.keys) == 5
    progress = [p for p in phases if p.startswith("listing access keys (")]
    # 6 s per look, a report every 10 s or more: every other user, counting up, of 5.
    assert progress == ["listing access keys (1 of 5 users)", "listing access keys (3 of 5 users)"]
    assert phases.index(progress[0]) > phases.index("listing access keys")
