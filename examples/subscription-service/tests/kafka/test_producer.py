"""EventProducer with a mocked aiokafka producer."""

from unittest.mock import AsyncMock

from subscription_service.core.config import Settings
from subscription_service.kafka.producer import EventProducer


async def test_publish_sends_key_and_headers(settings: Settings) -> None:
    client = AsyncMock()
    producer = EventProducer(client, settings)

    await producer.start()
    await producer.publish("subscriptions.created", "sub-1", b"{}", {"x-correlation-id": "c-1"})
    await producer.stop()

    client.start.assert_awaited_once()
    client.stop.assert_awaited_once()
    client.send_and_wait.assert_awaited_once_with(
        "subscriptions.created", value=b"{}", key=b"sub-1", headers=[("x-correlation-id", b"c-1")]
    )
