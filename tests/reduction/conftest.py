"""An Identity Center account seeded through boto3, as the demo seeds it."""

import pytest

from demo.identity_center import DirectoryGroup, DirectoryPerson, seed_identity_center
from tests.conftest import account_clients

IC_ACCOUNT = "444444444444"
PROD, DEV = "222222222222", "333333333333"


@pytest.fixture
def directory(aws, settings):
    """Jane holds Developer on prod directly and ReadOnly on dev through her team; Omar has
    a user and no assignment. Keyledger reads it through the reader role in IC_ACCOUNT."""
    settings.KEYLEDGER_IDENTITY_CENTER_ROLE_ARN = (
        f"arn:aws:iam::{IC_ACCOUNT}:role/KeyledgerIdentityCenterReader")
    settings.KEYLEDGER_IDENTITY_CENTER_EXTERNAL_ID = "ic-ext-id"
    settings.KEYLEDGER_IDENTITY_CENTER_REGION = "us-east-1"
    settings.KEYLEDGER_IDENTITY_CENTER_INSTANCE_ARN = ""
    return seed_identity_center(
        account_clients(IC_ACCOUNT),
        people=[DirectoryPerson("jane", "Jane.Doe@example.com", "Jane Doe",
                                assignments=((PROD, "Developer"),)),
                DirectoryPerson("omar", "omar@example.com", "Omar Haddad")],
        groups=[DirectoryGroup("platform", ("jane",), assignments=((DEV, "ReadOnly"),
                                                                   (PROD, "Developer")))])
