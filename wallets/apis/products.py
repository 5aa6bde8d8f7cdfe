"""Products (card programs): list and create."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.fields import StrictCharField, StrictIntegerField
from config.partner_api.openapi import error_response, error_responses
from config.partner_api.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from notifications.models import CustomerChannel
from wallets import selectors
from wallets.apis.common import CURRENCY, LOCALE, READ, WRITE, PartnerInputSerializer, _actor
from wallets.services.issuance import product_create


class ProductOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    dormancyDays = serializers.IntegerField(source="dormancy_days")
    currency = serializers.CharField()
    defaultLocale = serializers.CharField(source="default_locale")
    channelFallbackOrder = serializers.ListField(child=serializers.CharField(), source="channel_fallback_order")
    emailSenderName = serializers.CharField(source="email_sender_name", help_text="From name of its emails")
    emailReplyTo = serializers.CharField(source="email_reply_to", help_text="Reply-To of its emails")
    createdAt = serializers.DateTimeField(source="created_at")


class ProductsApi(APIView):
    """GET lists the tenant's products; POST creates one."""

    required_level = {"GET": READ, "POST": WRITE}

    class InputSerializer(PartnerInputSerializer):
        class Meta:
            ref_name = "ProductsInput"

        code = serializers.SlugField(max_length=64)
        name = StrictCharField(max_length=200)
        dormancyDays = StrictIntegerField(source="dormancy_days", min_value=1, max_value=3650, default=365)
        currency = serializers.RegexField(CURRENCY, default="INR", error_messages={"invalid": "ISO 4217, e.g. INR."})
        defaultLocale = serializers.RegexField(
            LOCALE, source="default_locale", default="en", error_messages={"invalid": "A locale such as en or hi-IN."}
        )
        channelFallbackOrder = serializers.ListField(
            child=serializers.ChoiceField(choices=CustomerChannel.values),
            source="channel_fallback_order",
            default=list,
            max_length=len(CustomerChannel.values),
        )

        emailSenderName = StrictCharField(
            source="email_sender_name", max_length=100, required=False, default="", allow_blank=True,
            help_text="The From name of this product's emails, e.g. \"Gift card by Acme\" (the address is ours)",
        )
        emailReplyTo = serializers.EmailField(
            source="email_reply_to", max_length=254, required=False, default="", allow_blank=True,
            help_text="Where cardholders' replies to this product's emails go",
        )

        def validate_channelFallbackOrder(self, value: list[str]) -> list[str]:
            if len(set(value)) != len(value):
                raise serializers.ValidationError("Each channel may appear once.")
            return value

    @extend_schema(
        operation_id="products_list",
        summary="List products (card programs)",
        parameters=PAGE_PARAMETERS,
        responses={
            200: paginated_schema(ProductOutput, "PaginatedProductList"), 404: error_response(404, "Bad cursor.")
        },
    )
    def get(self, request):
        return paginated_response(self, request, selectors.product_list(partner=request.user.partner), ProductOutput)

    @extend_schema(
        operation_id="products_create",
        summary="Create a product (card program) with its dormancy period and notification settings",
        request=InputSerializer,
        responses={201: ProductOutput, **error_responses(400)},
        examples=[
            OpenApiExample(
                "Product",
                value={"code": "gift-card", "name": "Gift card", "dormancyDays": 180, "currency": "INR",
                       "defaultLocale": "en", "channelFallbackOrder": ["PUSH", "SMS", "EMAIL"]},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = product_create(
            partner=request.user.partner, **_actor(request), **serializer.validated_data
        )
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED)
