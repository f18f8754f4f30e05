"""The two incident-response calls: find a key's account, and deactivate a key.

Deactivation goes through a separate responder role whose only permission is
``iam:UpdateAccessKey``, so the read-only reader role never gains write power and the
responder can do nothing else.
"""

from .errors import translate
from .session import ambient_session, assumed_session


def account_of_key(access_key_id: str) -> str:
    """The account that owns an access key id (STS GetAccessKeyInfo, from our own account)."""
    try:
        return ambient_session().client("sts").get_access_key_info(
            AccessKeyId=access_key_id)["Account"]
    except Exception as exc:
        raise translate(exc, "sts") from None


def deactivate_access_key(*, account_id: str, role_arn: str, external_id: str,
                          user_name: str, access_key_id: str) -> None:
    """Set the key Inactive through the responder role of its account."""
    session = assumed_session(account_id=account_id, role_arn=role_arn, external_id=external_id)
    try:
        session.client("iam").update_access_key(UserName=user_name, AccessKeyId=access_key_id,
                                                Status="Inactive")
    except Exception as exc:
        raise translate(exc, "iam") from None
