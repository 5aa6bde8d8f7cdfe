from celery import shared_task

from notifications import services


@shared_task(acks_late=True, ignore_result=True)
def publish_outbox() -> int:
    return services.outbox_publish_pending()
