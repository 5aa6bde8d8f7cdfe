"""Operational endpoints outside the partner API: probes, metrics, the admin operations dashboard and the demo
webhook receiver of `make run`."""

from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

from notifications.ops import dashboard, demo_receiver
from notifications.ops import views as ops_views

# The admin index gets a link to the operations dashboard (template in notifications/templates/admin/).
admin.site.index_template = "admin/ops_index.html"

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("ops/dashboard/", dashboard.dashboard, name="ops-dashboard"),
    path("demo/", include((demo_receiver.urlpatterns, "demo"))),
    # gunicorn does not serve static files; with DEBUG on (`make run`) Django does. Empty when DEBUG is off.
    *staticfiles_urlpatterns(),
]
