"""Card (kit) status: activate, lock, unlock, block and close a card, one operation each, at the access level the
card status table (`wallets.card_state_machine`) gives it. Each change emits KIT_STATUS_UPDATE and
CARD_STATUS_CHANGED with the old and new status."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.partner_api.errors import Conflict
from config.partner_api.fields import StrictCharField
from config.partner_api.openapi import error_responses
from wallets.apis.cards import CardOutput
from wallets.apis.common import PartnerInputSerializer, _actor, _card_or_404
from wallets.card_state_machine import CARD_MOVES, CardAction
from wallets.services.card_status import CardTransitionNotAllowed, card_change_status
from wallets.state_machine import Actor


class CardTransitionConflict(Conflict):
    default_code = "card_transition_not_allowed"


class CardStatusInput(PartnerInputSerializer):
    comment = StrictCharField(max_length=500, required=False, default="", allow_blank=True,
                              help_text="Optional; carried in the events' `comment`.")

    class Meta:
        ref_name = "CardStatusInput"


class CardStatusOutput(serializers.Serializer):
    card = CardOutput()
    action = serializers.CharField()
    previousStatus = serializers.CharField(source="previous_status")
    newStatus = serializers.CharField(source="new_status")
    eventIds = serializers.ListField(child=serializers.CharField(), source="event_ids",
                                     help_text="eventIds of KIT_STATUS_UPDATE, CARD_STATUS_CHANGED and the specific "
                                     "event (CARD_ACTIVATED, CARD_BLOCKED, CARD_CLOSED) where there is one")

    class Meta:
        ref_name = "CardStatusChange"


class CardTransitionConflictOutput(serializers.Serializer):
    class Body(serializers.Serializer):
        code = serializers.CharField(help_text="card_transition_not_allowed")
        message = serializers.CharField()
        currentStatus = serializers.CharField()
        requestedAction = serializers.CharField()
        allowedActions = serializers.ListField(child=serializers.CharField(),
                                               help_text="The actions open to this card now")

        class Meta:
            ref_name = "CardStatusConflictBody"

    error = Body()

    class Meta:
        ref_name = "CardStatusConflict"


_SUMMARIES = {
    CardAction.ACTIVATE: "Activate a dormant (INACTIVE) card",
    CardAction.LOCK: "Lock a card temporarily (ACTIVE -> LOCKED)",
    CardAction.UNLOCK: "Unlock a locked card (LOCKED -> ACTIVE)",
    CardAction.BLOCK: "Block a card (lost or stolen): only a reissue brings it back",
    CardAction.CLOSE: "Close a card for good (level 3)",
}


def _card_status_view(action: CardAction) -> type[APIView]:
    """The view of one card action; the table gives its access level and the statuses it applies to."""
    move = CARD_MOVES[action]

    class CardStatusActionApi(APIView):
        required_level = {"POST": move.level}

        @extend_schema(
            operation_id=f"cards_{action}",
            summary=_SUMMARIES[action],
            description=f"Moves the card from {', '.join(sorted(move.sources))} to {move.target}. Requires an API "
            f"token of access level {move.level}. Emits KIT_STATUS_UPDATE and CARD_STATUS_CHANGED (reason "
            f"{move.reason}, with previousStatus and newStatus)"
            + (f", and {move.specific_event}" if move.specific_event else "")
            + ". From any other status the answer is 409 with the actions the card allows.",
            request=CardStatusInput,
            responses={
                200: CardStatusOutput,
                **error_responses(400, 404),
                409: OpenApiResponse(CardTransitionConflictOutput, description="The card's status does not allow "
                                     "this action; `allowedActions` lists what it does."),
            },
            examples=[OpenApiExample("Comment", value={"comment": "Cardholder request"}, request_only=True)],
        )
        def post(self, request, card_id: str):
            card = _card_or_404(request, card_id)
            serializer = CardStatusInput(data=request.data)
            serializer.is_valid(raise_exception=True)
            try:
                change = card_change_status(
                    card=card, action=action, actor=Actor.PARTNER, actor_name=_actor(request)["actor_name"],
                    comment=serializer.validated_data["comment"],
                )
            except CardTransitionNotAllowed as exc:
                raise CardTransitionConflict(str(exc), extra={
                    "currentStatus": exc.current, "requestedAction": exc.action,
                    "allowedActions": exc.allowed_actions,
                }) from None
            return Response(CardStatusOutput({**vars(change), "action": str(action)}).data)

    CardStatusActionApi.__name__ = CardStatusActionApi.__qualname__ = f"Card{action.title()}Api"
    return CardStatusActionApi


CardActivateApi = _card_status_view(CardAction.ACTIVATE)
CardLockApi = _card_status_view(CardAction.LOCK)
CardUnlockApi = _card_status_view(CardAction.UNLOCK)
CardBlockApi = _card_status_view(CardAction.BLOCK)
CardCloseApi = _card_status_view(CardAction.CLOSE)
