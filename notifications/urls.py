from django.urls import path

from notifications import apis

urlpatterns = [
    path("events/", apis.EventListApi.as_view(), name="events-list"),
    path("events/<str:event_id>", apis.EventDetailApi.as_view(), name="events-detail"),
    path("events/<str:event_id>/deliveries", apis.EventDeliveriesApi.as_view(), name="events-deliveries"),
    path("deliveries/<int:delivery_id>/retry", apis.DeliveryRetryApi.as_view(), name="deliveries-retry"),
    path("event-subscriptions/<str:eventName>/test", apis.SubscriptionTestApi.as_view(),
         name="event-subscriptions-test"),
    path("event-subscriptions/<str:eventName>/recover", apis.SubscriptionRecoverApi.as_view(),
         name="event-subscriptions-recover"),
    path("event-subscriptions/<str:eventName>/recover-jobs/<int:job_id>", apis.RecoverJobApi.as_view(),
         name="event-subscriptions-recover-job"),
]
