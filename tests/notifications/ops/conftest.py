import pytest
import redis
from django.contrib.auth import get_user_model

from notifications.ops import demo_receiver


@pytest.fixture(autouse=True)
def _metrics_count_everything(settings):
    # Rows created by a test are a few milliseconds old; count them at once instead of after 30 s.
    settings.METRICS_SETTLE_SECONDS = 0


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser("opsadmin", "ops@example.com", "pw-for-tests-only")


@pytest.fixture
def plain_user(db):
    return get_user_model().objects.create_user("someone", "someone@example.com", "pw-for-tests-only")


@pytest.fixture
def demo_store(settings):
    """The demo receiver's Redis list, emptied before and after (the test's own Redis database)."""
    settings.DEMO_RECEIVER_ENABLED = True
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(demo_receiver.REDIS_KEY)
    yield client
    client.delete(demo_receiver.REDIS_KEY)
