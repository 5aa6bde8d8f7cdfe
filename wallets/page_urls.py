"""The cardholder's pages, outside the partner API: the preference centre and one-click unsubscribe."""

from django.urls import path

from wallets import pages

urlpatterns = [
    path("unsubscribe/<str:token>/", pages.unsubscribe, name="unsubscribe"),
    path("<str:token>/", pages.preference_centre, name="preference-centre"),
]
