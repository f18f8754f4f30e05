"""Writing audit events to an S3 bucket with Object Lock: the write-once copy of the log.

Each object is put with a retention (``ObjectLockMode`` and ``ObjectLockRetainUntilDate``)
and a SHA-256 checksum; in COMPLIANCE mode nobody, the account's root user included, can
delete or overwrite that version before the date. Keyledger's host role needs only
``s3:PutObject`` on the prefix (``deploy/aws/keyledger-audit-sink-policy.json``).
"""

from datetime import datetime

from botocore.exceptions import ClientError

from .errors import translate
from .session import ambient_session


class SinkWriteError(Exception):
    """The object was not stored; the message says why (denied, no bucket, timed out...)."""


def put_retained_object(*, bucket: str, key: str, body: bytes, mode: str,
                        retain_until: datetime) -> str:
    """Store ``body`` at ``key`` under Object Lock until ``retain_until``; returns the
    version id S3 gave it."""
    s3 = ambient_session().client("s3")
    try:
        response = s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson",
            ObjectLockMode=mode, ObjectLockRetainUntilDate=retain_until,
            ChecksumAlgorithm="SHA256")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise SinkWriteError(f"{error.get('Code', 'Unknown')} on s3:PutObject to "
                             f"s3://{bucket}/{key}: {error.get('Message', '')}".strip()) from None
    except Exception as exc:  # time-outs, no credentials...: said in words by translate()
        raise SinkWriteError(translate(exc, "s3").message) from None
    return response.get("VersionId", "")
