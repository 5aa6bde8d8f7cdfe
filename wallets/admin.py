"""Support console: read-only views of products, cardholders, wallets and cards, plus one action per support-only
move of the wallet transition table (unblock, block, mark as FRAUD, close).

Every page here is read-only on purpose: wallet status and balance change only through the services (state machine,
transition record, event, audit), so the admin offers actions that call them instead of editable fields. Only users
with `wallets.unblock_wallet` (the "Support" group) see the support actions; Django refuses them for anyone else.
Releasing a FRAUD wallet needs a written comment (the service refuses it without one, too)."""

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from wallets.models import (
    SYSTEM_ONLY_REASONS,
    Card,
    Cardholder,
    CardReissue,
    CardTransaction,
    Product,
    StatusReason,
    Wallet,
    WalletStatusTransition,
)
from wallets.services.wallet_status import TransitionNotAllowed, wallet_change_status
from wallets.state_machine import Actor, WalletStatus, comment_required, support_only_sources


class ReadOnlyAdminMixin:
    """View-only: rows are created and changed through the partner API and the services, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class WalletStatusTransitionInline(ReadOnlyTabularInline):
    model = WalletStatusTransition
    fields = ("created_at", "from_status", "to_status", "reason", "comment", "actor", "channel", "event_id")
    ordering = ("-created_at", "-id")
    verbose_name_plural = "status history"


class CardInline(ReadOnlyTabularInline):
    model = Card
    fields = ("kit_no", "last4", "expiry_date", "status", "last_activity_at")
    show_change_link = True


class CardReissueInline(ReadOnlyTabularInline):
    model = CardReissue
    fk_name = "card"
    fields = ("created_at", "previous_last4", "previous_expiry_date", "new_last4", "new_expiry_date", "reason",
              "actor")
    verbose_name_plural = "reissues (previous numbers, now inactive)"


class SupportMoveForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[(value, label) for value, label in StatusReason.choices if value not in SYSTEM_ONLY_REASONS],
        initial=StatusReason.REACTIVATION,
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False, max_length=500,
        help_text="Why (required with OTHER, and to release a FRAUD wallet to ACTIVE). Recorded in the status "
        "history and sent to the partner in WALLET_STATUS_CHANGED.",
    )

    def __init__(self, *args, releases_fraud: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.releases_fraud = releases_fraud
        if releases_fraud:
            self.fields["comment"].help_text = (
                "Required: the outcome of the fraud review. " + self.fields["comment"].help_text
            )

    def clean(self):
        cleaned = super().clean()
        comment = cleaned.get("comment", "").strip()
        if cleaned.get("reason") == StatusReason.OTHER and not comment:
            self.add_error("comment", "A comment is required with the reason OTHER.")
        elif self.releases_fraud and not comment:
            self.add_error("comment", "A written comment is required to release a FRAUD wallet.")
        return cleaned


@dataclass(frozen=True)
class SupportMove:
    """An admin action for the support-only moves of the transition table to one target status."""

    target: WalletStatus
    title: str
    button: str

    @property
    def sources(self) -> list[str]:
        return sorted(support_only_sources(self.target))


# Every support-only move of wallets.state_machine.SUPPORT_ONLY_TRANSITIONS, grouped by target (a test checks that
# none is missing).
SUPPORT_MOVES: dict[str, SupportMove] = {
    "unblock_support": SupportMove(WalletStatus.ACTIVE, "Unblock (support)", "Unblock"),
    "block_support": SupportMove(WalletStatus.BLOCKED, "Block (support)", "Block"),
    "mark_fraud_support": SupportMove(WalletStatus.FRAUD, "Mark as FRAUD (support)", "Mark as FRAUD"),
    "close_support": SupportMove(WalletStatus.CLOSED, "Close (support)", "Close"),
}


@admin.register(Product)
class ProductAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "partner", "dormancy_days", "currency", "default_locale")
    list_filter = ("partner",)
    search_fields = ("code", "name")
    list_select_related = ("partner",)


@admin.register(Cardholder)
class CardholderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "name", "partner", "phone", "email", "locale", "timezone")
    list_filter = ("partner",)
    search_fields = ("external_id", "name", "phone", "email")
    list_select_related = ("partner",)
    exclude = ("push_token",)


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Status and balance first: at 1400 px the list (beside the admin's sidebar and the filters) scrolls
    # sideways, and what support looks for must not be behind that scrollbar.
    list_display = ("wallet_id", "status", "balance", "currency", "cardholder", "partner", "product", "updated_at")
    list_filter = ("status", "partner", "product")
    search_fields = ("cards__kit_no", "cardholder__phone", "cardholder__email", "cardholder__external_id")
    list_select_related = ("partner", "cardholder", "product")
    inlines = (CardInline, WalletStatusTransitionInline)
    actions = tuple(SUPPORT_MOVES)
    show_full_result_count = False

    def has_unblock_permission(self, request: HttpRequest) -> bool:
        # `wallets.unblock_wallet` (the Support group) allows every support-only move, not only unblocking.
        return request.user.has_perm("wallets.unblock_wallet")

    @admin.action(description=SUPPORT_MOVES["unblock_support"].title, permissions=["unblock"])
    def unblock_support(self, request: HttpRequest, queryset: QuerySet[Wallet]):
        """BLOCKED or FRAUD -> ACTIVE."""
        return self._support_move(request, queryset, "unblock_support")

    @admin.action(description=SUPPORT_MOVES["block_support"].title, permissions=["unblock"])
    def block_support(self, request: HttpRequest, queryset: QuerySet[Wallet]):
        """FRAUD or REFUND_ONLY -> BLOCKED."""
        return self._support_move(request, queryset, "block_support")

    @admin.action(description=SUPPORT_MOVES["mark_fraud_support"].title, permissions=["unblock"])
    def mark_fraud_support(self, request: HttpRequest, queryset: QuerySet[Wallet]):
        """BLOCKED or REFUND_ONLY -> FRAUD."""
        return self._support_move(request, queryset, "mark_fraud_support")

    @admin.action(description=SUPPORT_MOVES["close_support"].title, permissions=["unblock"])
    def close_support(self, request: HttpRequest, queryset: QuerySet[Wallet]):
        """BLOCKED or FRAUD -> CLOSED (its cards close with it)."""
        return self._support_move(request, queryset, "close_support")

    def _support_move(self, request: HttpRequest, queryset: QuerySet[Wallet], action_name: str):
        """Ask for a reason (and a comment where needed) on an intermediate page, then move the selected wallets
        for which this is a support-only move; the others are left alone."""
        # Django already hides and refuses these actions without the permission; check again in case one is ever
        # reached another way.
        if not self.has_unblock_permission(request):
            raise PermissionDenied
        move = SUPPORT_MOVES[action_name]
        eligible = queryset.filter(status__in=move.sources).select_related("partner", "cardholder")
        skipped = queryset.exclude(status__in=move.sources).count()
        if not eligible:
            self.message_user(request, f"None of the selected wallets is {' or '.join(move.sources)}.",
                              messages.WARNING)
            return None
        releases_fraud = any(comment_required(w.status, move.target) for w in eligible)
        form = SupportMoveForm(request.POST if "apply" in request.POST else None, releases_fraud=releases_fraud)
        if form.is_bound and form.is_valid():
            self._move(request, eligible, move, form.cleaned_data["reason"], form.cleaned_data["comment"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{move.title}: move wallets to {move.target}",
            "opts": self.model._meta,
            "wallets": eligible,
            "skipped": skipped,
            "move": move,
            "form": form,
            "action_name": action_name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        template = ("admin/wallets/wallet/unblock_support.html" if action_name == "unblock_support"
                    else "admin/wallets/wallet/support_move.html")
        return TemplateResponse(request, template, context)

    def _move(self, request: HttpRequest, wallets: QuerySet[Wallet], move: SupportMove, reason: str,
              comment: str) -> None:
        done = 0
        for wallet in wallets:
            try:
                transition = wallet_change_status(
                    wallet=wallet,
                    to_status=move.target,
                    actor=Actor.SUPPORT,
                    actor_name=request.user.get_username(),
                    reason=reason,
                    comment=comment,
                )
            except (TransitionNotAllowed, ValidationError) as exc:
                # E.g. another agent changed the wallet since the list was loaded.
                self.message_user(request, f"Wallet {wallet.wallet_id} not moved to {move.target}: {exc}",
                                  messages.ERROR)
                continue
            self.log_change(request, wallet, f"{move.title}: {transition.from_status} → {move.target} ({reason})")
            done += 1
        if done:
            self.message_user(request, f"Moved {done} wallet(s) to {move.target}.", messages.SUCCESS)


@admin.register(Card)
class CardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("kit_no", "masked_number", "status", "expiry_date", "last_activity_at", "wallet", "partner")
    list_filter = ("status", "partner")
    search_fields = ("kit_no", "wallet__cardholder__phone", "wallet__cardholder__email")
    list_select_related = ("partner", "wallet")
    inlines = (CardReissueInline,)


@admin.register(WalletStatusTransition)
class WalletStatusTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "wallet", "from_status", "to_status", "reason", "actor", "channel")
    list_filter = ("channel", "to_status", "reason")
    search_fields = ("wallet__cards__kit_no", "actor")
    list_select_related = ("wallet",)
    date_hierarchy = "created_at"


@admin.register(CardTransaction)
class CardTransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "transaction_type", "amount", "currency", "status", "decline_reason", "card")
    list_filter = ("transaction_type", "status", "decline_reason")
    search_fields = ("card__kit_no",)
    list_select_related = ("card",)
