"""The key-change queue (SQS) the EventBridge rule fills: receive, extend, release, delete.

The queue lives in Keyledger's own account and is read with the host's ambient credentials.
Messages come out as frozen ``QueueMessage`` records; nothing else sees a boto3 response.
Retries to the dead-letter queue are SQS's own (the queue's redrive policy,
``maxReceiveCount``): a message is deleted only once handled, so one that keeps failing
reappears after its visibility timeout and moves to the DLQ after that many receives.
"""

import re
from dataclasses import dataclass

from .errors import translate
from .session import ambient_session

_REGION = re.compile(r"sqs[.-]([a-z]{2}(?:-[a-z]+)+-\d)\.")


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    sent_at_ms: int  # when SQS accepted it (SentTimestamp): the start of its freshness


class EventQueue:
    """One SQS queue, through a counting client of the host's own session."""

    def __init__(self, url: str):
        match = _REGION.search(url)
        self.url = url
        self.session = ambient_session()
        if match:  # the queue's region, whatever KEYLEDGER_AWS_REGION says
            self.session.region = match.group(1)

    @property
    def _sqs(self):
        return self.session.client("sqs")

    def receive(self, *, max_messages: int, wait_seconds: int,
                visibility_seconds: int) -> list[QueueMessage]:
        try:
            response = self._sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=wait_seconds, VisibilityTimeout=visibility_seconds,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"])
        except Exception as exc:
            raise translate(exc, "sqs") from None
        messages = []
        for item in response.get("Messages", []):
            attributes = item.get("Attributes", {})
            messages.append(QueueMessage(
                message_id=item["MessageId"], receipt_handle=item["ReceiptHandle"],
                body=item.get("Body", ""),
                receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
                sent_at_ms=int(attributes.get("SentTimestamp", 0))))
        return messages

    def set_visibility(self, message: QueueMessage, seconds: int) -> None:
        """Keep ``message`` hidden ``seconds`` more from now (0: release it at once)."""
        try:
            self._sqs.change_message_visibility(QueueUrl=self.url,
                                                ReceiptHandle=message.receipt_handle,
                                                VisibilityTimeout=seconds)
        except Exception as exc:
            raise translate(exc, "sqs") from None

    def delete(self, message: QueueMessage) -> None:
        try:
            self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)
        except Exception as exc:
            raise translate(exc, "sqs") from None
