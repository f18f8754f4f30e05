"""Why a collection failed, in words a security engineer can act on.

botocore raises many exception types; the sync needs to know one of a few kinds (denied,
throttled, timed out, credentials, unreadable data) to decide whether a retry can help and
to tell the user what to fix.
"""

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

ACCESS_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                       "AWSOrganizationsNotInUseException"}
THROTTLING_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded",
                    "TooManyRequestsException", "RequestThrottled", "SlowDown"}
CREDENTIAL_CODES = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
                    "UnrecognizedClientException", "SignatureDoesNotMatch"}

RETRYABLE_KINDS = {"throttled", "timeout"}


class CollectionError(Exception):
    """A collection step failed; ``kind`` is a SyncRun.FailureKind value."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


def translate(exc: Exception, service: str) -> CollectionError:
    """Map a botocore exception raised while calling ``service`` to a CollectionError."""
    if isinstance(exc, CollectionError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        action = f"{service}:{exc.operation_name}"
        text = (error.get("Message") or "").strip()[:500]
        if code in ACCESS_DENIED_CODES:
            return CollectionError(
                "access_denied", f"AccessDenied on {action}: the reader role lacks {action}. {text}"
            )
        if code in THROTTLING_CODES:
            return CollectionError(
                "throttled", f"{code} on {action}: AWS kept throttling after every retry."
            )
        if code in CREDENTIAL_CODES:
            return CollectionError("credentials", f"{code} on {action}: {text}")
        return CollectionError("error", f"{code} on {action}: {text}")
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return CollectionError("timeout", f"{service}: no answer in time ({exc}).")
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError)):
        return CollectionError("timeout", f"{service}: could not reach AWS ({exc}).")
    if isinstance(exc, NoCredentialsError):
        return CollectionError(
            "credentials", "No AWS credentials: run Keyledger with an instance, container or "
            "SSO role (see docs)."
        )
    if isinstance(exc, BotoCoreError):
        return CollectionError("error", f"{service}: {exc}")
    return CollectionError("error", f"{service}: {type(exc).__name__}: {exc}")
