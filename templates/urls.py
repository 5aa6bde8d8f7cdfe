"""Partner API routes of the templates app (mounted under /prepaid/auth/v1/). Paths work with and without a
trailing slash, like the subscriptions routes."""

from django.urls import re_path

from templates import apis

SLASH = r"(?:/)?"  # optional trailing slash, left out of the OpenAPI path

urlpatterns = [
    re_path(r"^notification-templates/?$", apis.TemplateCollectionApi.as_view(), name="notification-templates"),
    re_path(
        rf"^notification-templates/preview{SLASH}$", apis.TemplatePreviewApi.as_view(),
        name="notification-template-preview",
    ),
    re_path(
        rf"^notification-templates/variables/(?P<eventName>[^/]+){SLASH}$", apis.TemplateVariablesApi.as_view(),
        name="notification-template-variables",
    ),
    re_path(
        rf"^notification-templates/(?P<template_id>[0-9]{{1,18}}){SLASH}$", apis.TemplateDetailApi.as_view(),
        name="notification-template",
    ),
]
