"""Reading an account's IAM OIDC providers through its reader role (moto's IAM)."""

import json

import boto3
import pytest
from moto.core import enable_iam_authentication

from governance.aws.errors import CollectionError
from governance.aws.oidc_providers import OidcProvider, oidc_providers
from governance.aws.session import assumed_session
from tests.conftest import account_clients

from .conftest import PROD


def reader(account_id: str = PROD):
    return assumed_session(account_id=account_id,
                           role_arn=f"arn:aws:iam::{account_id}:role/KeyledgerReader",
                           external_id="keyledger-test")


def test_the_accounts_providers_are_read_with_their_issuers_and_audiences(aws):
    iam = account_clients(PROD).client("iam")
    github = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])["OpenIDConnectProviderArn"]
    gitlab = iam.create_open_id_connect_provider(
        Url="https://gitlab.com", ClientIDList=["https://gitlab.com"],
        ThumbprintList=["b3dd7606d2b5a8b4a13771dbecc9ee1cecafa38a"])["OpenIDConnectProviderArn"]
    account_clients("333333333333").client("iam").create_open_id_connect_provider(
        Url="https://oidc.circleci.com/org/abc", ClientIDList=["abc"],
        ThumbprintList=["a" * 40])

    session = reader()
    providers = oidc_providers(session)

    assert providers == (
        OidcProvider(arn=gitlab, url="gitlab.com", client_ids=("https://gitlab.com",)),
        OidcProvider(arn=github, url="token.actions.githubusercontent.com",
                     client_ids=("sts.amazonaws.com",)),
    )
    assert session.calls["iam:ListOpenIDConnectProviders"] == 1
    assert session.calls["iam:GetOpenIDConnectProvider"] == 2


def test_an_account_without_providers_has_none(aws):
    assert oidc_providers(reader()) == ()


def test_a_failure_is_a_collection_error_naming_the_call(aws):
    from governance.aws.session import client_hooks

    def deny(_account_id, client):
        from botocore.exceptions import ClientError

        def refuse(**kwargs):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}},
                              "ListOpenIDConnectProviders")
        client.meta.events.register("before-call.iam.ListOpenIDConnectProviders", refuse)

    with client_hooks(deny), pytest.raises(CollectionError) as failure:
        oidc_providers(reader())

    assert failure.value.kind == "access_denied"
    assert "iam:ListOpenIDConnectProviders" in failure.value.message


# The two actions keyledger-reader-policy.json (and its template) gain when the sync reads
# providers; proven here under moto's IAM enforcement, with nothing else granted.
OIDC_ACTIONS = ["iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider"]


@pytest.mark.parametrize("missing", [None, *OIDC_ACTIONS])
def test_exactly_the_two_iam_actions_are_needed(aws, monkeypatch, missing):
    iam = account_clients(PROD).client("iam")
    iam.create_open_id_connect_provider(Url="https://gitlab.com", ClientIDList=["x"],
                                        ThumbprintList=["b" * 40])
    iam.create_role(RoleName="OidcReader", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": "*"}}]}))
    iam.put_role_policy(RoleName="OidcReader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Resource": "*",
            "Action": [a for a in OIDC_ACTIONS if a != missing]}]}))
    host = boto3.client("iam", region_name="us-east-1")
    host.create_user(UserName="host")
    host.put_user_policy(UserName="host", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Resource": "*"}]}))
    key = host.create_access_key(UserName="host")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])

    with enable_iam_authentication():
        session = assumed_session(account_id=PROD,
                                  role_arn=f"arn:aws:iam::{PROD}:role/OidcReader")
        if missing is None:
            assert [p.url for p in oidc_providers(session)] == ["gitlab.com"]
        else:
            with pytest.raises(CollectionError, match=missing.split(":")[1]):
                oidc_providers(session)
