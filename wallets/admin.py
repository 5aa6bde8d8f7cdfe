"""Support console: read-only views of products, cardholders, wallets and cards, plus the "Unblock (support)" action.

Every page here is read-only on purpose: wallet status and balance change only through the services (state machine,
transition record, event, audit), so the admin offers actions that call them instead of editable fields. Only users
with `wallets.unblock_wallet` (the "Support" group) see the unblock action; Django refuses it for anyone else."""

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
from wallets.state_machine import Actor, WalletStatus

UNBLOCKABLE = (WalletStatus.BLOCKED, WalletStatus.FRAUD)


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


class UnblockForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[(value, label) for value, label in StatusReason.choices if value not in SYSTEM_ONLY_REASONS],
        initial=StatusReason.REACTIVATION,
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False, max_length=500,
        help_text="Why the wallet may transact again (required with OTHER). Recorded in the status history.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == StatusReason.OTHER and not cleaned.get("comment", "").strip():
            self.add_error("comment", "A comment is required with the reason OTHER.")
        return cleaned


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
    actions = ("unblock_support",)
    show_full_result_count = False

    def has_unblock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("wallets.unblock_wallet")

    @admin.action(description="Unblock (support)", permissions=["unblock"])
    def unblock_support(self, request: HttpRequest, queryset: QuerySet[Wallet]):
        """Move the selected BLOCKED/FRAUD wallets to ACTIVE after asking for a reason (intermediate page)."""
        # Django already hides and refuses this action without the permission; check again in case it is ever
        # reached another way.
        if not self.has_unblock_permission(request):
            raise PermissionDenied
        eligible = queryset.filter(status__in=UNBLOCKABLE).select_related("partner", "cardholder")
        skipped = queryset.exclude(status__in=UNBLOCKABLE).count()
        if not eligible:
            self.message_user(request, "None of the selected wallets is BLOCKED or FRAUD.", messages.WARNING)
            return None
        form = UnblockForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._unblock(request, eligible, form.cleaned_data["reason"], form.cleaned_data["comment"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Unblock wallets (support)",
            "opts": self.model._meta,
            "wallets": eligible,
            "skipped": skipped,
            "form": form,
            "action_name": "unblock_support",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/wallets/wallet/unblock_support.html", context)

    def _unblock(self, request: HttpRequest, wallets: QuerySet[Wallet], reason: str, comment: str) -> None:
        done = 0
        for wallet in wallets:
            try:
                transition = wallet_change_status(
                    wallet=wallet,
                    to_status=WalletStatus.ACTIVE,
                    actor=Actor.SUPPORT,
                    actor_name=request.user.get_username(),
                    reason=reason,
                    comment=comment,
                )
            except (TransitionNotAllowed, ValidationError) as exc:
                # E.g. another agent changed the wallet since the list was loaded.
                self.message_user(request, f"Wallet {wallet.wallet_id} not unblocked: {exc}", messages.ERROR)
                continue
            self.log_change(request, wallet, f"Unblocked {transition.from_status} → ACTIVE ({reason})")
            done += 1
        if done:
            self.message_user(request, f"Unblocked {done} wallet(s).", messages.SUCCESS)


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
