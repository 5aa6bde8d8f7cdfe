"""Partner API of a subscription's signing secret: read it (GET …/{eventName}/secret) and rotate it
(POST …/{eventName}/secret/rotate)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.audit import actor_of_request
from config.partner_api.openapi import error_responses
from subscriptions.apis.subscriptions import (
    EVENT_NAME_PATH,
    EXAMPLE_SECRET,
    TAG_SUBSCRIPTIONS,
    deleted_meanwhile,
    get_subscription_or_404,
)
from subscriptions.models import EventSubscription, TokenLevel
from subscriptions.services.secrets import subscription_secret_reveal, subscription_secret_rotate


class SecretOutputSerializer(serializers.Serializer):
    eventName = serializers.CharField()
    signatureScheme = serializers.CharField(help_text="hmac-sha256 (`v1` signatures) or ed25519 (`v1a`).")
    secret = serializers.CharField(
        allow_null=True,
        help_text="hmac-sha256: the Standard Webhooks signing secret (`whsec_` + base64 of 32 bytes); null for "
        "ed25519.",
    )
    publicKey = serializers.CharField(
        allow_null=True,
        help_text="ed25519: the public key (`whpk_` + base64 of the 32-byte Ed25519 public key) that verifies the "
        "`v1a` signatures; null for hmac-sha256.",
    )
    previousSecretExpiresAt = serializers.DateTimeField(
        allow_null=True,
        help_text="During a rotation (or a change of signatureScheme): until when the previous key also signs (a "
        "second signature in the header).",
    )

    class Meta:
        ref_name = "SubscriptionSecret"


def _secret_payload(subscription: EventSubscription, secret: str) -> dict:
    expires = subscription.previous_secret_expires_at
    # After the overlap the old secret no longer signs, so its expiry is no longer news.
    active_previous = bool(subscription.previous_secret_encrypted) and len(subscription.signing_secrets()) > 1
    # An Ed25519 subscription's secret is its private key: only the public key is ever shown.
    public_key = subscription.public_key
    return {
        "eventName": subscription.event_name,
        "signatureScheme": subscription.signature_scheme,
        "secret": None if public_key else secret,
        "publicKey": public_key,
        "previousSecretExpiresAt": expires if active_previous else None,
    }


class SubscriptionSecretApi(APIView):
    # Whoever holds the secret can forge webhooks to the partner: reading it needs a standard token, not read-only.
    required_level = {"GET": TokenLevel.STANDARD}
    OutputSerializer = SecretOutputSerializer

    @extend_schema(
        operation_id="event_subscriptions_secret_retrieve",
        tags=[TAG_SUBSCRIPTIONS],
        summary="Read the signing secret",
        description="The current signing secret of the subscription (hmac-sha256), or the public key that verifies "
        "its signatures (ed25519). Requires token level 2; every read is audited.",
        parameters=[EVENT_NAME_PATH],
        responses={200: OpenApiResponse(OutputSerializer, description="The signing secret."), **error_responses(404)},
        examples=[
            OpenApiExample(
                "Secret",
                value={
                    "eventName": "TRANSACTION_NOTIFICATION", "signatureScheme": "hmac-sha256", "secret": EXAMPLE_SECRET,
                    "publicKey": None, "previousSecretExpiresAt": None
                },
                response_only=True,
            ),
            OpenApiExample(
                "Ed25519 public key",
                value={
                    "eventName": "TRANSACTION_NOTIFICATION", "signatureScheme": "ed25519", "secret": None,
                    "publicKey": "whpk_5Vx2yMlIa2lM3rXDz1oA8i4Bqj3eB0wY1rI6o8Yq3uM=", "previousSecretExpiresAt": None
                },
                response_only=True,
            ),
        ],
    )
    def get(self, request, eventName: str):
        subscription = get_subscription_or_404(request, eventName)
        channel, actor = actor_of_request(request)
        secret = subscription_secret_reveal(subscription=subscription, channel=channel, actor=actor)
        return Response(SubscriptionSecretApi.OutputSerializer(_secret_payload(subscription, secret)).data)


class SubscriptionSecretRotateApi(APIView):
    required_level = {"POST": TokenLevel.ADMIN}
    OutputSerializer = SecretOutputSerializer

    @extend_schema(
        operation_id="event_subscriptions_secret_rotate",
        tags=[TAG_SUBSCRIPTIONS],
        summary="Rotate the signing secret",
        description="Creates a new signing secret and returns it. The previous secret keeps signing beside the "
        "new one (two space-separated `v1,` signatures) for 24 hours, until the response's previousSecretExpiresAt, "
        "so receivers can switch without losing a webhook. Rotating again within that window drops the older "
        "secret. No request body. Requires token level 3.",
        parameters=[EVENT_NAME_PATH],
        request=None,
        responses={
            200: OpenApiResponse(OutputSerializer, description="The new secret and when the old one stops signing."),
            **error_responses(404),
        },
        examples=[
            OpenApiExample(
                "Rotated",
                value={
                    "eventName": "TRANSACTION_NOTIFICATION",
                    "signatureScheme": "hmac-sha256",
                    "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                    "publicKey": None,
                    "previousSecretExpiresAt": "2026-02-13T10:30:00Z",
                },
                response_only=True,
            )
        ],
    )
    def post(self, request, eventName: str):
        subscription = get_subscription_or_404(request, eventName)
        channel, actor = actor_of_request(request)
        try:
            subscription = subscription_secret_rotate(
                subscription=subscription, channel=channel, actor=actor
            )
        except EventSubscription.DoesNotExist:
            raise deleted_meanwhile(eventName) from None
        return Response(SubscriptionSecretRotateApi.OutputSerializer(
            _secret_payload(subscription, subscription.secret)
        ).data)
