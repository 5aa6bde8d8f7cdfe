"""Pages of the partner portal (mounted at /portal/)."""

from django.urls import path

from subscriptions.portal.views import deliveries, pages, signin, subscription_views, tokens

app_name = "portal"

urlpatterns = [
    path("", pages.OverviewView.as_view(), name="overview"),
    path("login/", signin.LoginView.as_view(), name="login"),
    path("login/code/", signin.LoginOtpView.as_view(), name="login-otp"),
    path("logout/", signin.LogoutView.as_view(), name="logout"),
    path("link/<str:token>/", signin.LinkView.as_view(), name="link"),
    path("security/", signin.SecurityView.as_view(), name="security"),
    path("subscriptions/", subscription_views.SubscriptionListView.as_view(), name="subscriptions"),
    path("subscriptions/new/", subscription_views.SubscriptionCreateView.as_view(), name="subscription-create"),
    path("subscriptions/<str:event_name>/", subscription_views.SubscriptionDetailView.as_view(), name="subscription"),
    path("subscriptions/<str:event_name>/toggle/", subscription_views.SubscriptionToggleView.as_view(),
         name="subscription-toggle"),
    path("subscriptions/<str:event_name>/delete/", subscription_views.SubscriptionDeleteView.as_view(),
         name="subscription-delete"),
    path("subscriptions/<str:event_name>/test/", subscription_views.SubscriptionTestView.as_view(),
         name="subscription-test"),
    path("subscriptions/<str:event_name>/secret/", subscription_views.SecretRevealView.as_view(),
         name="subscription-secret"),
    path("subscriptions/<str:event_name>/secret/rotate/", subscription_views.SecretRotateView.as_view(),
         name="subscription-rotate"),
    path("subscriptions/<str:event_name>/recover/", subscription_views.SubscriptionRecoverView.as_view(),
         name="subscription-recover"),
    path("deliveries/", deliveries.DeliveryLogView.as_view(), name="deliveries"),
    path("deliveries/<int:delivery_id>/", deliveries.DeliveryCardView.as_view(), name="delivery"),
    path("deliveries/<int:delivery_id>/resend/", deliveries.DeliveryResendView.as_view(), name="delivery-resend"),
    path("events/<str:event_id>/", deliveries.EventDetailView.as_view(), name="event"),
    path("catalog/", pages.CatalogView.as_view(), name="catalog"),
    path("verify/", pages.VerifyView.as_view(), name="verify"),
    path("tokens/", tokens.TokenListView.as_view(), name="tokens"),
    path("tokens/<int:token_id>/revoke/", tokens.TokenRevokeView.as_view(), name="token-revoke"),
    path("audit/", pages.AuditView.as_view(), name="audit"),
]
