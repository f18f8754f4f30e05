"""The key-change consumer: long-poll the queue, refresh whom each event names, delete it.

One process, one message at a time (a refresh is a handful of calls; more throughput is more
processes, each polling the same queue). While a message is being worked on, a heartbeat
thread keeps extending its visibility, so a slow AWS answer never lets a second consumer take
it. What happens to a message:

- handled (or a failed call, which changed nothing): deleted;
- malformed or from an account Keyledger does not govern: logged with its reason and deleted,
  since no retry can fix it;
- the refresh failed (AWS throttled or denied, the database was away): left on the queue,
  visible again after ``KEYLEDGER_EVENTS_RETRY_SECONDS``; SQS moves it to the dead-letter
  queue after the redrive policy's ``maxReceiveCount`` receives.

SIGTERM or SIGINT stops the loop after the message in hand; messages received but not
started are released at once for another consumer.
"""

import logging
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import close_old_connections, connection

from governance.aws.errors import CollectionError
from governance.aws.events_queue import EventQueue, QueueMessage
from governance.live import Sessions, UnknownAccount, refresh

from .events import Malformed, parse

log = logging.getLogger("keyledger.events")


@dataclass
class ConsumerStats:
    received: int = 0
    handled: int = 0
    dropped: int = 0
    failed: int = 0
    calls: Counter = field(default_factory=Counter)
    freshness_ms: list[int] = field(default_factory=list)  # queue -> stored, per handled


class Heartbeat:
    """Extends one message's visibility every half timeout until stopped."""

    def __init__(self, queue: EventQueue, message: QueueMessage, visibility_seconds: int):
        self._queue, self._message = queue, message
        self._seconds = visibility_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"heartbeat-{message.message_id[:8]}")
        self.extensions = 0

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.wait(max(self._seconds / 2, 0.5)):
            try:
                self._queue.set_visibility(self._message, self._seconds)
                self.extensions += 1
            except CollectionError as exc:
                log.warning("could not extend a message's visibility (%s): %s",
                            exc.kind, exc.message)


class Consumer:
    def __init__(self, queue: EventQueue, *, wait_seconds: int, visibility_seconds: int,
                 retry_seconds: int, batch: int = 10):
        self.queue = queue
        self.wait_seconds = wait_seconds
        self.visibility_seconds = visibility_seconds
        self.retry_seconds = retry_seconds
        self.batch = batch
        self.sessions = Sessions()
        self.stats = ConsumerStats()
        self._stopping = False

    def stop(self, *_args) -> None:
        """Finish the message in hand, then return (the signal handler)."""
        if not self._stopping:
            log.info("stopping after the message in hand")
        self._stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, *, once: bool = False) -> ConsumerStats:
        """Consume until stopped; ``once``: until a receive finds the queue empty."""
        while not self._stopping:
            try:
                messages = self.queue.receive(
                    max_messages=self.batch, wait_seconds=1 if once else self.wait_seconds,
                    visibility_seconds=self.visibility_seconds)
            except CollectionError as exc:
                if once:
                    raise
                log.warning("receiving failed (%s), trying again in 5 s: %s", exc.kind,
                            exc.message, extra={"event": "live_change_receive"})
                time.sleep(5)
                continue
            if not messages and once:
                break
            for index, message in enumerate(messages):
                if self._stopping:
                    for unstarted in messages[index:]:
                        self.queue.set_visibility(unstarted, 0)
                    break
                self.handle(message)
        return self.stats

    def handle(self, message: QueueMessage) -> None:
        """Work on one message with its visibility extended, then delete or leave it."""
        self.stats.received += 1
        if not connection.in_atomic_block:  # (a test's transaction is not ours to close)
            close_old_connections()  # a long-lived loop must not hold a dead connection
        fields = {"event": "live_change", "message_id": message.message_id,
                  "receive_count": message.receive_count}
        try:
            with Heartbeat(self.queue, message, self.visibility_seconds):
                change = parse(message.body)
                if change is None:
                    log.info("an IAM call that failed: nothing changed", extra=fields)
                else:
                    fields.update(event_name=change.event_name, account_id=change.account_id,
                                  event_id=change.event_id, event_time=change.event_time)
                    outcome = refresh(account_id=change.account_id,
                                      user_names=change.user_names,
                                      group_name=change.group_name,
                                      keys_only=change.keys_only, sessions=self.sessions)
                    self.stats.calls.update(outcome.calls)
                    fields.update(aws_calls=sum(outcome.calls.values()), users=outcome.users,
                                  keys_created=outcome.keys_created,
                                  keys_removed=outcome.keys_removed)
        except (Malformed, UnknownAccount) as exc:
            self.stats.dropped += 1
            log.warning("dropped a message: %s", exc, extra=fields)
            self.queue.delete(message)
            return
        except Exception as exc:  # noqa: BLE001 - any failure: SQS retries, then the DLQ
            self.stats.failed += 1
            reason = exc.message if isinstance(exc, CollectionError) else type(exc).__name__
            log.warning("refresh failed (receive %d), left for a retry: %s",
                        message.receive_count, reason, extra=fields)
            if not isinstance(exc, CollectionError):
                log.debug("refresh failure", exc_info=True)
            try:
                self.queue.set_visibility(message, self.retry_seconds)
            except CollectionError:  # it reappears after the visibility timeout instead
                log.warning("could not shorten a failed message's visibility", extra=fields)
            return
        self.queue.delete(message)
        self.stats.handled += 1
        if message.sent_at_ms:
            self.stats.freshness_ms.append(int(time.time() * 1000) - message.sent_at_ms)
        log.info("live change stored", extra=fields)
