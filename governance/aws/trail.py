"""Reading the organization trail's log files in S3: which objects are new, and the
long-term-key events inside them.

CloudTrail writes gzip JSON objects (``{"Records": [...]}``) under
``PREFIX[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/``. Everything in the bucket is
untrusted input: object keys are checked against that layout, bodies are parsed as a stream
(one record at a time, so memory stays flat however large an object is) with a cap on any
one record, and a body that is not what CloudTrail writes raises ``MalformedLog`` naming
why, for the caller to record and skip. Only events signed with a long-term key
(``userIdentity.accessKeyId`` starting with ``AKIA``) leave this module, as frozen
dataclasses; temporary (``ASIA``) credentials are counted and dropped.
"""

import codecs
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings

from .errors import CollectionError, translate
from .session import AccountSession, session_for

ACCOUNT_ID = re.compile(r"[0-9]{12}")
ORG_ID = re.compile(r"o-[a-z0-9]{10,32}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
LONG_TERM_KEY = re.compile(r"AKIA[0-9A-Z]{12,124}")
READ_CHUNK = 256 * 1024  # compressed bytes per read from S3
MAX_RECORD_CHARS = 1024 * 1024  # CloudTrail events are at most 256 KB; anything larger is junk
MAX_DECOMPRESSED_RATIO = 200  # a gzip bomb is refused long before it fills memory or time
_WHITESPACE = " \t\r\n"


class MalformedLog(Exception):
    """The object is not a complete CloudTrail log file; ``reason`` says why in a few words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LogObject:
    """One log file: its key, compressed size and where the layout places it."""

    key: str
    size: int
    account_id: str
    region: str
    day: date


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """One API call made with a long-term access key, as CloudTrail recorded it.

    ``source_address`` is an IP address, or a service name when an AWS service acted for
    the key; ``via_aws_service`` is CloudTrail's ``sessionContext``-free marker of the same.
    Strings are as AWS wrote them (the reducer clips them before they are stored).
    """

    access_key_id: str
    account_id: str
    event_time: datetime
    event_source: str
    event_name: str
    region: str
    source_address: str
    user_agent: str
    error_code: str
    via_aws_service: bool
    # CloudTrail's ``vpcEndpointId``: the VPC endpoint the call came through, if any (a
    # declared ``vpce-`` source covers such calls).
    vpc_endpoint_id: str = ""


@dataclass
class ReadStats:
    """What a read saw: every record, and how many were kept (long-term keys)."""

    records: int = 0
    kept: int = 0
    compressed_bytes: int = 0


def trail_session(calls: Counter | None = None) -> AccountSession:
    """Clients in the log-archive account: through ``KEYLEDGER_TRAIL_ROLE_ARN`` when it is
    set (with its external id), else the host's ambient credentials."""
    return session_for(account_id="log-archive", role_arn=settings.KEYLEDGER_TRAIL_ROLE_ARN,
                       external_id=settings.KEYLEDGER_TRAIL_EXTERNAL_ID, calls=calls)


# The IAM action each S3 call needs (ListObjectsV2 is authorised as s3:ListBucket).
_IAM_ACTION = {"ListObjectsV2": "s3:ListBucket", "GetObject": "s3:GetObject"}


def _failure(exc: Exception) -> CollectionError:
    """A botocore failure in words. A denial names the IAM action the trail reader role
    lacks, and on an encrypted trail also the KMS key it must be able to decrypt with."""
    error = translate(exc, "s3")
    if error.kind == "access_denied":
        operation = getattr(exc, "operation_name", "")
        action = _IAM_ACTION.get(operation, f"s3:{operation}")
        error.message = (f"AccessDenied on s3:{operation}: the trail reader role lacks "
                         f"{action} on s3://{settings.KEYLEDGER_TRAIL_BUCKET}/"
                         f"{settings.KEYLEDGER_TRAIL_PREFIX}")
        key = settings.KEYLEDGER_TRAIL_KMS_KEY_ID
        if key and operation == "GetObject":
            error.message += f", or kms:Decrypt on {key}"
        error.message += " (deploy/aws/keyledger-trail-reader.cfn.yaml)."
    return error


def _common_prefixes(s3, bucket: str, prefix: str) -> Iterator[str]:
    """The next path segment under ``prefix`` (``Delimiter="/"``), without its slash."""
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, Delimiter="/"):
            for entry in page.get("CommonPrefixes", []):
                yield entry["Prefix"][len(prefix):].rstrip("/")
    except Exception as exc:
        raise _failure(exc) from None


def account_prefixes(session: AccountSession, *, bucket: str,
                     prefix: str) -> dict[str, list[str]]:
    """Each account the trail holds logs for, with its ``PREFIX[o-ORG/]ACCOUNT/`` prefixes
    (two when the trail moved from an account trail to an organization trail)."""
    s3 = session.client("s3")
    found: dict[str, list[str]] = {}
    for segment in _common_prefixes(s3, bucket, prefix):
        if ACCOUNT_ID.fullmatch(segment):
            found.setdefault(segment, []).append(f"{prefix}{segment}/")
        elif ORG_ID.fullmatch(segment):
            for account in _common_prefixes(s3, bucket, f"{prefix}{segment}/"):
                if ACCOUNT_ID.fullmatch(account):
                    found.setdefault(account, []).append(f"{prefix}{segment}/{account}/")
    return found


def regions(session: AccountSession, *, bucket: str, account_prefix: str) -> list[str]:
    """The regions an account has log files in (well-formed region names only)."""
    s3 = session.client("s3")
    return sorted(r for r in _common_prefixes(s3, bucket, f"{account_prefix}CloudTrail/")
                  if REGION.fullmatch(r))


def day_prefix(account_prefix: str, region: str, day: date) -> str:
    return f"{account_prefix}CloudTrail/{region}/{day:%Y/%m/%d}/"


def list_objects(session: AccountSession, *, bucket: str, account_prefix: str, region: str,
                 since: date) -> Iterator[LogObject]:
    """Every log file of one account and region from day ``since`` onwards, oldest first.

    One paged listing that starts after the day before ``since`` (``StartAfter``): earlier
    days are never listed, so an incremental read costs a page or so per account and
    region. Keys outside CloudTrail's layout are ignored.
    """
    s3 = session.client("s3")
    region_prefix = f"{account_prefix}CloudTrail/{region}/"
    # ".../YYYY/MM/DD" sorts after every earlier day and before every key of day ``since``.
    start_after = day_prefix(account_prefix, region, since).rstrip("/")
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=region_prefix, StartAfter=start_after)
        for page in pages:
            for entry in page.get("Contents", []):
                log = log_object(entry["Key"], size=int(entry.get("Size", 0)))
                if log is not None and log.day >= since:
                    yield log
    except Exception as exc:
        raise _failure(exc) from None


def log_object(key: str, *, size: int = 0) -> LogObject | None:
    """The ``LogObject`` a key names under ``KEYLEDGER_TRAIL_PREFIX``, or None when it does
    not follow CloudTrail's layout (``[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/F.json.gz``)."""
    prefix = settings.KEYLEDGER_TRAIL_PREFIX
    if not key.startswith(prefix) or not key.endswith(".json.gz") or len(key) > 1024:
        return None
    parts = key[len(prefix):].split("/")
    if len(parts) == 8 and ORG_ID.fullmatch(parts[0]):
        parts = parts[1:]
    if (len(parts) != 7 or not ACCOUNT_ID.fullmatch(parts[0]) or parts[1] != "CloudTrail"
            or not REGION.fullmatch(parts[2]) or not all(p.isdigit() for p in parts[3:6])):
        return None
    try:
        day = date(int(parts[3]), int(parts[4]), int(parts[5]))
    except ValueError:
        return None
    return LogObject(key=key, size=size, account_id=parts[0], region=parts[2], day=day)


def read_events(session: AccountSession, *, bucket: str, key: str,
                stats: ReadStats) -> Iterator[KeyEvent]:
    """The long-term-key events in one log file, streamed; ``stats`` counts as it goes.

    Raises ``MalformedLog`` for a body that is not a whole gzip CloudTrail file (the caller
    discards what it reduced from it) and ``CollectionError`` when S3 refuses or fails.
    """
    try:
        body = session.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    except Exception as exc:
        raise _failure(exc) from None
    try:
        for record in _records(_decompressed(body, stats)):
            stats.records += 1
            event = _key_event(record)
            if event is not None:
                stats.kept += 1
                yield event
    finally:
        body.close()


def _decompressed(body, stats: ReadStats) -> Iterator[str]:
    """The gzip body as text, a chunk at a time; a truncated or corrupt stream is
    ``MalformedLog`` (zlib's wbits=31: gzip framing and its CRC checked)."""
    inflater = zlib.decompressobj(31)
    text = codecs.getincrementaldecoder("utf-8")(errors="strict")
    produced = 0
    while True:
        try:
            chunk = body.read(READ_CHUNK)
        except Exception as exc:  # a connection cut mid-object: retried with the batch
            raise _failure(exc) from None
        if not chunk:
            break
        stats.compressed_bytes += len(chunk)
        try:
            data = inflater.decompress(chunk)
            produced += len(data)
            if produced > MAX_DECOMPRESSED_RATIO * max(stats.compressed_bytes, READ_CHUNK):
                raise MalformedLog("decompresses to far more than any log file (gzip bomb?)")
            yield text.decode(data)
        except zlib.error as exc:
            raise MalformedLog(f"not gzip: {exc}") from None
        except UnicodeDecodeError:
            raise MalformedLog("not UTF-8 text") from None
        if inflater.eof and inflater.unused_data.strip(b"\0"):
            raise MalformedLog("data after the end of the gzip stream")
    if not inflater.eof:
        raise MalformedLog("truncated: the gzip stream ends early")
    yield text.decode(inflater.flush(), final=True)


def _records(chunks: Iterator[str]) -> Iterator[dict]:
    """Each element of the top-level ``Records`` array, decoded one at a time.

    Only the current record and the unread rest of one chunk are held, never the file.
    """
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    more = iter(chunks)

    def fill() -> bool:
        nonlocal buffer, position
        for chunk in more:
            if chunk:
                buffer = buffer[position:] + chunk
                position = 0
                return True
        return False

    def skip_whitespace() -> None:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in _WHITESPACE:
                position += 1
            if position < len(buffer) or not fill():
                return

    def expect(token: str, what: str) -> None:
        nonlocal position
        skip_whitespace()
        while len(buffer) - position < len(token) and fill():
            pass
        if not buffer.startswith(token, position):
            raise MalformedLog(f"not a CloudTrail log: expected {what}")
        position += len(token)

    expect("{", "a JSON object")
    expect('"Records"', 'a "Records" array')
    expect(":", 'a "Records" array')
    expect("[", 'a "Records" array')
    skip_whitespace()
    if buffer.startswith("]", position):
        position += 1
    else:
        while True:
            skip_whitespace()
            while True:
                try:
                    record, end = decoder.raw_decode(buffer, position)
                    break
                except json.JSONDecodeError:
                    if len(buffer) - position > MAX_RECORD_CHARS:
                        raise MalformedLog("a record larger than any CloudTrail event") from None
                    if not fill():
                        raise MalformedLog("truncated or invalid JSON in Records") from None
            position = end
            if isinstance(record, dict):
                yield record
            skip_whitespace()
            if buffer.startswith(",", position):
                position += 1
            elif buffer.startswith("]", position):
                position += 1
                break
            else:
                raise MalformedLog("invalid JSON between records")
    skip_whitespace()
    if not buffer.startswith("}", position):
        raise MalformedLog("not a CloudTrail log: more than Records in the object")
    position += 1
    skip_whitespace()
    if position < len(buffer):
        raise MalformedLog("data after the JSON object")


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _key_event(record: dict) -> KeyEvent | None:
    """The event as a ``KeyEvent`` when a long-term key made it, else None."""
    identity = record.get("userIdentity")
    if not isinstance(identity, dict):
        return None
    key_id = identity.get("accessKeyId")
    # Most events are temporary credentials': the cheap test first, the exact one after.
    if not isinstance(key_id, str) or not key_id.startswith("AKIA") \
            or not LONG_TERM_KEY.fullmatch(key_id):
        return None
    try:
        when = datetime.fromisoformat(_text(record.get("eventTime")).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    source = _text(record.get("sourceIPAddress"))
    return KeyEvent(
        access_key_id=key_id,
        account_id=account if ACCOUNT_ID.fullmatch(account := _text(identity.get("accountId")))
        else "",
        event_time=when,
        event_source=_text(record.get("eventSource")),
        event_name=_text(record.get("eventName")),
        region=_text(record.get("awsRegion")),
        source_address=source,
        user_agent=_text(record.get("userAgent")),
        error_code=_text(record.get("errorCode")),
        via_aws_service=(identity.get("invokedBy") is not None
                         or source.endswith(".amazonaws.com")
                         or source == "AWS Internal"),
        vpc_endpoint_id=_text(record.get("vpcEndpointId")),
    )
