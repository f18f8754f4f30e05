"""Account discovery through AWS Organizations, from the management account."""

import json
from collections import Counter

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from governance.aws.errors import CollectionError
from governance.aws.organizations import organization_accounts
from governance.aws.session import client_hooks
from tests.conftest import MANAGEMENT_ACCOUNT

from .helpers import Body

pytestmark = pytest.mark.usefixtures("aws")


def test_lists_the_accounts_of_the_organization():
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    created = {}
    for name in ("payments-prod", "payments-dev"):
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")
        created[name] = status["CreateAccountStatus"]["AccountId"]

    calls = Counter()
    accounts = {a.account_id: a for a in organization_accounts(calls=calls)}

    assert set(accounts) == {MANAGEMENT_ACCOUNT, *created.values()}
    for name, account_id in created.items():
        account = accounts[account_id]
        assert (account.name, account.email, account.status) == (
            name, f"{name}@example.com", "ACTIVE")
        assert len(account_id) == 12 and account_id.isdigit()
    assert calls == Counter({"organizations:ListAccounts": 1})


def refuse(code: str, message: str):
    """ListAccounts answered as Organizations does (JSON protocol); moto does not refuse."""

    def before_send(request, **_):
        body = json.dumps({"__type": code, "Message": message}).encode()
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"},
                           Body(body))

    def hook(account_id, client):
        client.meta.events.register_first("before-send.organizations.ListAccounts", before_send)

    return hook


@pytest.mark.parametrize("code", ["AWSOrganizationsNotInUseException", "AccessDeniedException"])
def test_not_a_management_account_is_access_denied(code):
    with client_hooks(refuse(code, "You don't have permissions to access this resource.")), \
            pytest.raises(CollectionError) as info:
        organization_accounts()
    assert info.value.kind == "access_denied"
    assert "organizations:ListAccounts" in info.value.message


def test_paged_list_accounts_is_merged():
    """moto pages ListAccounts at 100: 120 accounts come back in two pages, all listed."""
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    for n in range(119):
        org.create_account(AccountName=f"acct-{n}", Email=f"acct-{n}@example.com")
    calls = Counter()
    accounts = organization_accounts(calls=calls)
    assert len(accounts) == 120 and len({a.account_id for a in accounts}) == 120
    assert calls["organizations:ListAccounts"] == 2
