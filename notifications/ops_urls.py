from django.urls import path

from notifications import ops_views

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
]
