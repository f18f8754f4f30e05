"""An organization trail bucket in moto's S3, and a way to write CloudTrail's log files to it."""

import io
from datetime import UTC, datetime, time, timedelta

import boto3
import pytest
from django.core.management import call_command
from django.utils import timezone

from demo.trail_logs import api_event, put_log

BUCKET = "org-trail-logs"
A, B = "111111111111", "222222222222"
KEY_1 = "AKIAEXAMPLEKEY000001"
KEY_2 = "AKIAEXAMPLEKEY000002"
TEMPORARY = "ASIAEXAMPLETEMP00001"


def at(days_ago: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment ``days_ago`` days before today (UTC), at ``hour:minute``."""
    day = timezone.now().date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@pytest.fixture
def trail(aws, settings):
    """The trail bucket, configured; ``trail.put(...)`` writes one log file."""
    settings.KEYLEDGER_TRAIL_BUCKET = BUCKET
    settings.KEYLEDGER_TRAIL_PREFIX = "AWSLogs/"
    settings.KEYLEDGER_TRAIL_ROLE_ARN = ""
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)

    class Trail:
        client = s3

        def put(self, records, *, account_id=A, region="us-east-1", when=None, **options):
            return put_log(s3, bucket=BUCKET, account_id=account_id, region=region,
                           when=when or at(0), records=records, **options)

        def put_raw(self, body: bytes, *, account_id=A, region="us-east-1", when=None,
                    name="raw"):
            when = when or at(0)
            from demo.trail_logs import log_key

            key = log_key(account_id=account_id, region=region, when=when, suffix=name)
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            return key

    return Trail()


def event(key=KEY_1, account_id=A, when=None, **fields):
    return api_event(access_key_id=key, account_id=account_id, when=when or at(0), **fields)


def read_trail(*args) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("read_trail", *args, stdout=out)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return out.getvalue(), code
