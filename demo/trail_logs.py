"""CloudTrail log files as CloudTrail writes them, for the demo, the tests and the bench.

Objects are gzip JSON (``{"Records": [...]}``) under
``AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_ID.json.gz``;
records carry the fields a real management event has (``userIdentity`` with its access key
id, ``eventTime``, ``sourceIPAddress``, ``userAgent``, ``errorCode`` on a failure...).
"""

import gzip
import json
import random
import string
import uuid
from datetime import datetime

ORG_ID = "o-a1b2c3d4e5"


def log_key(*, account_id: str, region: str, when: datetime, org_id: str = ORG_ID,
            prefix: str = "AWSLogs/", suffix: str = "") -> str:
    """The key CloudTrail gives a file delivered at ``when``."""
    suffix = suffix or "".join(random.choices(string.ascii_letters + string.digits, k=16))
    org = f"{org_id}/" if org_id else ""
    return (f"{prefix}{org}{account_id}/CloudTrail/{region}/{when:%Y/%m/%d}/"
            f"{account_id}_CloudTrail_{region}_{when:%Y%m%dT%H%MZ}_{suffix}.json.gz")


def api_event(*, access_key_id: str, account_id: str, when: datetime,
              event_source: str = "s3.amazonaws.com", event_name: str = "ListBuckets",
              region: str = "us-east-1", source_ip: str = "203.0.113.10",
              user_agent: str = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
              user_name: str = "ci-deployer", error_code: str = "",
              vpc_endpoint_id: str = "") -> dict:
    """One management event. ``AKIA…`` ids make an IAM user's event; ``ASIA…`` ids an
    assumed role's (temporary credentials, with a session context); ``vpc_endpoint_id`` a
    call through that VPC endpoint."""
    temporary = access_key_id.startswith("ASIA")
    identity: dict[str, object] = {
        "type": "AssumedRole" if temporary else "IAMUser",
        "principalId": "AROAEXAMPLE:session" if temporary else "AIDAEXAMPLE" + user_name[:8],
        "arn": (f"arn:aws:sts::{account_id}:assumed-role/Deployer/session" if temporary
                else f"arn:aws:iam::{account_id}:user/{user_name}"),
        "accountId": account_id,
        "accessKeyId": access_key_id,
    }
    if temporary:
        identity["sessionContext"] = {
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                              "arn": f"arn:aws:iam::{account_id}:role/Deployer",
                              "accountId": account_id, "userName": "Deployer"},
            "attributes": {"creationDate": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "mfaAuthenticated": "false"}}
    else:
        identity["userName"] = user_name
    record: dict[str, object] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": None,
        "responseElements": None,
        "requestID": uuid.uuid4().hex.upper()[:16],
        "eventID": str(uuid.uuid4()),
        "readOnly": event_name.startswith(("Get", "List", "Describe")),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": event_source},
    }
    if vpc_endpoint_id:
        record["vpcEndpointId"] = vpc_endpoint_id
    if error_code:
        record["errorCode"] = error_code
        record["errorMessage"] = f"User: {identity['arn']} is not authorized to perform this"
    return record


def log_body(records: list[dict]) -> bytes:
    """A log file's bytes: gzip of ``{"Records": [...]}`` as CloudTrail writes it."""
    return gzip.compress(json.dumps({"Records": records}, separators=(",", ":")).encode())


def put_log(s3, *, bucket: str, account_id: str, region: str, when: datetime,
            records: list[dict], **key_options) -> str:
    """Write one log file to ``bucket`` with a boto3 S3 client; its key."""
    key = log_key(account_id=account_id, region=region, when=when, **key_options)
    s3.put_object(Bucket=bucket, Key=key, Body=log_body(records),
                  ContentType="application/json", ContentEncoding="gzip")
    return key
