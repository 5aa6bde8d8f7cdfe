"""Partner API: `POST /portal-sessions` (admin-level token) returns a one-time link that opens a partner-portal
session for the token's partner, so a partner can send its own users into the portal from its dashboard."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.audit import actor_of_request
from config.partner_api.fields import StrictInputSerializer, StrictIntegerField
from config.partner_api.openapi import error_responses
from subscriptions.models import TokenLevel
from subscriptions.portal.models import PortalRole
from subscriptions.portal.services import portal_link_issue

ROLES = {"viewer": PortalRole.VIEWER, "developer": PortalRole.DEVELOPER, "admin": PortalRole.ADMIN}
MAX_SESSION_MINUTES = 12 * 60


class PortalSessionCreateApi(APIView):
    required_level = {"POST": TokenLevel.ADMIN}

    class InputSerializer(StrictInputSerializer):
        """The portal session to open. Every field is optional; unknown fields are rejected (400)."""

        role = serializers.ChoiceField(
            choices=list(ROLES), required=False, default="developer",
            help_text="What the session may do: viewer (read), developer (change subscriptions, send tests, "
            "resend), admin (also rotate secrets and manage API tokens). Default developer.",
        )
        sessionMinutes = StrictIntegerField(
            min_value=5, max_value=MAX_SESSION_MINUTES, required=False,
            help_text="How long the portal session lasts once the link is opened (default 60).",
        )

        class Meta:
            ref_name = "PortalSessionCreate"

    class OutputSerializer(serializers.Serializer):
        url = serializers.URLField(help_text="Open this link (once) to enter the portal.")
        expiresAt = serializers.DateTimeField(help_text="The link cannot be used after this time.")
        role = serializers.CharField()
        sessionMinutes = StrictIntegerField()

        class Meta:
            ref_name = "PortalSession"

    @extend_schema(
        operation_id="portal_sessions_create",
        tags=["Partner portal"],
        summary="Create a one-time portal link",
        description="Returns a link into the partner portal for your tenant, valid for a few minutes and for one "
        "use; opening it starts a portal session with the given role. Put it behind a button of your own "
        "dashboard (redirect the user to it). Requires token level 3.",
        request=InputSerializer,
        responses={201: OpenApiResponse(OutputSerializer, description="The link."), **error_responses(400)},
        examples=[
            OpenApiExample("Developer session", value={"role": "developer"}, request_only=True),
            OpenApiExample("Link", value={"url": "https://api.example.com/portal/link/ppl_3q…/",
                                          "expiresAt": "2026-02-12T10:35:00Z", "role": "developer",
                                          "sessionMinutes": 60}, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request):
        serializer = PortalSessionCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        channel, actor = actor_of_request(request)
        minutes = data.get("sessionMinutes") or settings.PORTAL_LINK_SESSION_MINUTES
        link, raw = portal_link_issue(partner=request.user.partner, role=ROLES[data["role"]], channel=channel,
                                      actor=actor, session_minutes=minutes)
        url = request.build_absolute_uri(reverse("portal:link", args=[raw]))
        body = {"url": url, "expiresAt": link.expires_at, "role": data["role"], "sessionMinutes": minutes}
        return Response(PortalSessionCreateApi.OutputSerializer(body).data, status=status.HTTP_201_CREATED)
