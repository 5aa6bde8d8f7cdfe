"""The naive baseline's bridge: the service's own batched bridge and ingest (so the comparison isolates the delivery
design, and is generous to the baseline), enqueueing one naive task per delivery instead of one task per endpoint
and batch.

    python -m bench.naive_bridge --topic T --group G [--batch-size 500] [--name N]
"""

import argparse
import os


class NaiveDispatch:
    """Stands in for notifications.queue inside the bridge process."""

    @staticmethod
    def enqueue_deliveries(by_subscription: dict[int, list[int]], countdown: float | None = None) -> int:
        from bench.naive_tasks import naive_deliver

        count = 0
        for ids in by_subscription.values():
            for delivery_id in ids:
                naive_deliver.apply_async(args=[delivery_id], countdown=countdown)
                count += 1
        return count

    @classmethod
    def enqueue_delivery_batches(cls, batches) -> int:
        by_subscription: dict[int, list[int]] = {}
        for batch in batches:  # one endpoint may have several batches
            by_subscription.setdefault(batch.subscription_id, []).extend(batch.delivery_ids)
        return cls.enqueue_deliveries(by_subscription)

    @staticmethod
    def enqueue_message_planning(by_partner: dict[int, list[int]], countdown: float | None = None) -> int:
        from notifications import queue

        return queue.enqueue_message_planning(by_partner, countdown)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--name", default=f"naive-{os.getpid()}")
    args = parser.parse_args()
    import django

    django.setup()
    import config.celery_app  # noqa: F401 - the Celery app must exist before tasks are sent
    from notifications.ingest import bridge as bridge_module

    bridge_module.queue = NaiveDispatch
    bridge = bridge_module.KafkaBridge(topic=args.topic, group_id=args.group, batch_size=args.batch_size,
                                       name=args.name)
    bridge.install_signal_handlers()
    raise SystemExit(bridge.run())


if __name__ == "__main__":
    main()
