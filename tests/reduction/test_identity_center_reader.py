"""Reading Identity Center through boto3 against moto's identitystore and sso-admin."""

import pytest

from governance.aws.errors import CollectionError
from governance.aws.identity_center import AccountAssignment, identity_center_access

from .conftest import DEV, IC_ACCOUNT, PROD


def test_a_persons_assignments_direct_and_through_groups_are_named(directory):
    snapshot = identity_center_access(["jane.doe@example.com"])

    jane = snapshot.for_email("JANE.DOE@example.com")
    assert jane is not None and jane.user is not None
    assert jane.user.user_id == directory.user_ids["jane"]
    assert jane.user.display_name == "Jane Doe"
    assert jane.assignments == (
        AccountAssignment(PROD, directory.permission_sets["Developer"], "Developer"),
        AccountAssignment(PROD, directory.permission_sets["Developer"], "Developer",
                          via_group_id=directory.group_ids["platform"]),
        AccountAssignment(DEV, directory.permission_sets["ReadOnly"], "ReadOnly",
                          via_group_id=directory.group_ids["platform"]),
    )
    assert snapshot.instance_arn == directory.instance_arn


def test_people_are_found_by_email_whatever_its_case_or_by_user_name(directory):
    snapshot = identity_center_access(["jane.doe@EXAMPLE.com", "omar", "nobody@example.com"])

    assert snapshot.for_email("jane.doe@example.com").user.user_name == "jane"
    omar = snapshot.for_email("omar")
    assert omar.user.emails == ("omar@example.com",) and omar.assignments == ()
    nobody = snapshot.for_email("nobody@example.com")
    assert nobody is not None and nobody.user is None and nobody.assignments == ()


def test_it_reads_in_the_identity_center_account_through_the_role_and_counts_calls(directory):
    snapshot = identity_center_access(["jane.doe@example.com", "omar@example.com"])

    calls = snapshot.calls_by_action
    assert calls["sts:AssumeRole"] == 1
    assert calls["sso:ListInstances"] == 1 and calls["identitystore:ListUsers"] == 1
    # Jane: herself and one group; Omar: himself. Each set described once.
    assert calls["sso:ListAccountAssignmentsForPrincipal"] == 3
    assert calls["identitystore:ListGroupMembershipsForMember"] == 2
    assert calls["sso:DescribePermissionSet"] == 2
    assert snapshot.identity_store_id == directory.identity_store_id


def test_without_the_role_it_reads_the_hosts_own_account_which_holds_none_of_it(
        directory, settings):
    settings.KEYLEDGER_IDENTITY_CENTER_ROLE_ARN = ""

    snapshot = identity_center_access(["omar@example.com"])

    assert snapshot.for_email("omar@example.com").user is None
    assert "sts:AssumeRole" not in snapshot.calls_by_action


def test_a_named_instance_that_is_not_there_fails_saying_so(directory, settings):
    settings.KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-00000000"

    with pytest.raises(CollectionError, match="ssoins-00000000 not found"):
        identity_center_access(["jane.doe@example.com"])


def test_the_named_instance_is_used(directory, settings):
    settings.KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN = directory.instance_arn

    assert identity_center_access(["omar@example.com"]).instance_arn == directory.instance_arn


def test_hostile_directory_strings_are_clipped_at_the_border(directory):
    from demo.identity_center import DirectoryPerson, seed_identity_center
    from tests.conftest import account_clients

    seed_identity_center(account_clients(IC_ACCOUNT), people=[DirectoryPerson(
        "mallory", "mallory@example.com", "Mal\x00lory " + "x" * 500)])

    user = identity_center_access(["mallory@example.com"]).for_email("mallory@example.com").user

    assert "\x00" not in user.display_name
    assert len(user.display_name) == 128 and user.display_name.endswith("…[truncated]")
