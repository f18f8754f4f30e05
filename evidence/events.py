"""IAM's "AWS API Call via CloudTrail" events, as EventBridge delivers them to the queue.

A message body is untrusted text: anyone who can send to the queue, or who can name an IAM
user, shapes it. ``parse`` accepts only the envelope EventBridge writes (source ``aws.iam``,
the CloudTrail detail type, a known event name), a 12-digit account and IAM-shaped names,
and turns it into a ``Change`` saying whom to re-read; everything else is ``Malformed`` and
is dropped with its reason (retrying cannot fix it).

The account is taken from the CloudTrail record (``recipientAccountId``), not from the
envelope: an event forwarded from a member account's bus to the central bus carries the
central account in ``account``.
"""

import json
import re
from dataclasses import dataclass

DETAIL_TYPE = "AWS API Call via CloudTrail"
SOURCE = "aws.iam"
MAX_BODY = 256 * 1024  # SQS's own limit; anything larger was not sent by EventBridge

# Events that change only a user's keys: ListAccessKeys is enough to see their effect.
KEY_EVENTS = ("CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey")
# Events that change what Keyledger stores of the user named in requestParameters.userName.
USER_EVENTS = ("CreateUser", "DeleteUser", "UpdateUser", "TagUser", "UntagUser",
               "AttachUserPolicy", "DetachUserPolicy", "PutUserPolicy", "DeleteUserPolicy",
               "AddUserToGroup", "RemoveUserFromGroup", "CreateLoginProfile",
               "DeleteLoginProfile")
# Events that change every member of the group named in requestParameters.groupName.
GROUP_EVENTS = ("AttachGroupPolicy", "DetachGroupPolicy", "PutGroupPolicy", "DeleteGroupPolicy")
EVENT_NAMES = KEY_EVENTS + USER_EVENTS + GROUP_EVENTS

_ACCOUNT = re.compile(r"\d{12}")
_IAM_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)  # IAM's own pattern for user/group names


class Malformed(ValueError):
    """Not an IAM event Keyledger can act on; the message says why (no payload in it)."""


@dataclass(frozen=True)
class Change:
    """Whom one event asks Keyledger to re-read, in which account."""

    event_id: str
    event_name: str
    event_time: str
    account_id: str
    user_names: tuple[str, ...] = ()
    group_name: str = ""

    @property
    def keys_only(self) -> bool:
        return self.event_name in KEY_EVENTS


def _name(value, what: str) -> str:
    if not isinstance(value, str) or not _IAM_NAME.fullmatch(value):
        raise Malformed(f"{what} is not an IAM name")
    return value


def parse(body: str) -> Change | None:
    """The change one message asks for; None for a call that failed (it changed nothing)."""
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise Malformed("body is not text of a plausible size")
    try:
        envelope = json.loads(body)
    except ValueError:
        raise Malformed("body is not JSON") from None
    if not isinstance(envelope, dict):
        raise Malformed("body is not a JSON object")
    detail = envelope.get("detail")
    if isinstance(detail, str):  # a hand-sent envelope may carry it as text
        try:
            detail = json.loads(detail)
        except ValueError:
            raise Malformed("detail is not JSON") from None
    if envelope.get("source") != SOURCE or envelope.get("detail-type") != DETAIL_TYPE:
        raise Malformed("not an IAM API call via CloudTrail")
    if not isinstance(detail, dict):
        raise Malformed("no detail")
    event_name = detail.get("eventName")
    if event_name not in EVENT_NAMES:
        raise Malformed("an IAM call that does not change keys, users or groups")
    identity = detail.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    account_id = detail.get("recipientAccountId") or identity.get("accountId")
    if not isinstance(account_id, str) or not _ACCOUNT.fullmatch(account_id):
        raise Malformed("no 12-digit account")
    event_id = str(detail.get("eventID") or envelope.get("id") or "")[:64]
    event_time = str(detail.get("eventTime") or envelope.get("time") or "")[:32]
    if detail.get("errorCode"):
        return None
    params = detail.get("requestParameters")
    params = params if isinstance(params, dict) else {}
    change = dict(event_id=event_id, event_name=event_name, event_time=event_time,
                  account_id=account_id)
    if event_name in GROUP_EVENTS:
        return Change(**change, group_name=_name(params.get("groupName"), "groupName"))
    user = params.get("userName")
    if user is None and event_name in KEY_EVENTS:
        # No userName: the caller acted on its own keys.
        user = identity.get("userName") if identity.get("type") == "IAMUser" else None
    names = [_name(user, "userName")]
    if event_name == "UpdateUser" and params.get("newUserName") is not None:
        # The new name first: the stored user is found by its id and renamed; the old name
        # then names no one. Read the other way, the user would look deleted and reappear.
        names.insert(0, _name(params.get("newUserName"), "newUserName"))
    return Change(**change, user_names=tuple(names))
