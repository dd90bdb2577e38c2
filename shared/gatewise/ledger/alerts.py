"""Budget alerts posted to a Slack-compatible incoming webhook, off the caller's path.

Each alert goes out in a background task with a short deadline. The outcome is stored on the
alert row and a failure is logged, never raised: a missed notification must not fail a call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from gatewise.ledger.budget_store import Alert, DeliveryState
from gatewise.redact import scrub
from gatewise.upstream.http import guarded_transport

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 5.0

RecordDelivery = Callable[[int, DeliveryState, str | None], Awaitable[None]]


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Slack reads ``text``; the structured copy is for receivers that want the numbers."""
    return {
        "text": alert.message,
        "gatewise_alert": {
            "scope": alert.scope,
            "window": alert.window,
            "window_key": alert.window_key,
            "threshold": alert.threshold,
            "spent_usd": alert.spent_usd,
            "limit_usd": alert.limit_usd,
            "resets_at": alert.resets_at,
        },
    }


class WebhookNotifier:
    """Posts alerts in tracked tasks; ``close`` waits for the ones still in flight."""

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient | None,
        record: RecordDelivery,
        *,
        timeout_s: float = WEBHOOK_TIMEOUT_S,
    ) -> None:
        self._url = url
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_s, transport=guarded_transport())
        self._record = record
        self._timeout_s = timeout_s
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, alerts: Sequence[Alert]) -> None:
        """Post one commit's alerts in order (80% before 100%) without waiting for them."""
        if not alerts:
            return
        task = asyncio.create_task(self._deliver_all(alerts), name="gatewise-budget-alerts")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._owns_client:
            await self._client.aclose()

    async def _deliver_all(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            await self._deliver(alert)

    async def _deliver(self, alert: Alert) -> None:
        state: DeliveryState = "delivered"
        error = None
        try:
            # httpx timeouts apply per phase; this bounds the whole exchange.
            async with asyncio.timeout(self._timeout_s):
                # Only the status counts: the answer's body is never read.
                async with self._client.stream("POST", self._url, json=slack_payload(alert),
                                               timeout=self._timeout_s) as reply:
                    pass
            if not reply.is_success:
                state, error = "failed", f"HTTP {reply.status_code}"
        except Exception as exc:  # whatever went wrong is recorded, never raised
            state, error = "failed", _reason(exc)
        if error:
            error = scrub(error)  # stored on the alert row: no key or webhook token goes with it
            log.warning("budget alert %d was not delivered to the webhook: %s", alert.id, error)
        try:
            await self._record(alert.id, state, error)
        except Exception as exc:
            log.warning("could not record the delivery of budget alert %d: %s", alert.id, exc)


def _reason(exc: Exception) -> str:
    # A webhook URL embeds its secret token: only transport errors, whose text comes from the
    # socket layer rather than the URL, contribute their message.
    if isinstance(exc, httpx.TransportError) and str(exc):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__
