"""The responder role in each demo account (``deploy/aws/keyledger-responder.cfn.yaml``): allowed
only ``iam:UpdateAccessKey``, assumed by Keyledger to deactivate a key in an incident. The demo
serves with ``KEYLEDGER_RESPONDER_ROLE_NAME`` set to it, so Deactivate works there as in AWS.
"""

from __future__ import annotations

import json

import boto3

from .policies import reader_trust_policy
from .seed import DEMO_EXTERNAL_ID, REGION, SEED_ROLE_NAME, SEED_SESSION_NAME, DemoOrganization

RESPONDER_ROLE_NAME = "KeyledgerResponder"
DEACTIVATE_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "KeyledgerDeactivateKeysOnly", "Effect": "Allow",
                   "Action": "iam:UpdateAccessKey", "Resource": "arn:aws:iam::*:user/*"}],
}


def create_responder_roles(org: DemoOrganization) -> int:
    """Create the role in every member account, as the account's admin role; how many."""
    session = boto3.Session(region_name=REGION)
    sts = session.client("sts")
    trust = json.dumps(reader_trust_policy(org.management_account_id, DEMO_EXTERNAL_ID))
    for account in org.accounts:
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account.account_id}:role/{SEED_ROLE_NAME}",
            RoleSessionName=SEED_SESSION_NAME)["Credentials"]
        iam = session.client("iam", aws_access_key_id=credentials["AccessKeyId"],
                             aws_secret_access_key=credentials["SecretAccessKey"],
                             aws_session_token=credentials["SessionToken"])
        iam.create_role(RoleName=RESPONDER_ROLE_NAME, AssumeRolePolicyDocument=trust,
                        Description="Keyledger deactivates access keys in an incident")
        iam.put_role_policy(RoleName=RESPONDER_ROLE_NAME,
                            PolicyName="KeyledgerDeactivateKeysOnly",
                            PolicyDocument=json.dumps(DEACTIVATE_ONLY))
    return len(org.accounts)
