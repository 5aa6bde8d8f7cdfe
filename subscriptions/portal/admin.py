"""Staff view of portal access: which people of which partner may sign in with which role, and the one-time links
handed out. Users are created with `manage.py create_portal_user` (audited); the admin changes roles."""

from django.contrib import admin

from config.partner_api.audit import audit_record
from subscriptions.models import AuditChannel
from subscriptions.portal.models import PartnerUser, PortalLink, PortalRole


@admin.register(PartnerUser)
class PartnerUserAdmin(admin.ModelAdmin):
    list_display = ("user", "partner", "role", "created_at")
    list_filter = ("role", "partner")
    search_fields = ("user__username", "user__email", "partner__tenant_id")
    raw_id_fields = ("user",)
    fields = ("user", "partner", "role")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "partner") if obj else ()

    def save_model(self, request, obj, form, change):
        before = {"role": PortalRole(form.initial["role"]).label} if change and "role" in form.initial else None
        super().save_model(request, obj, form, change)
        audit_record(channel=AuditChannel.ADMIN, actor=request.user.get_username(), partner=obj.partner,
                     action="portal_user.updated" if change else "portal_user.created", object_type="PartnerUser",
                     object_id=obj.user.get_username(), before=before, after={"role": PortalRole(obj.role).label})


@admin.register(PortalLink)
class PortalLinkAdmin(admin.ModelAdmin):
    list_display = ("prefix", "partner", "role", "created_by", "created_at", "expires_at", "used_at")
    list_filter = ("partner",)
    readonly_fields = [f.name for f in PortalLink._meta.fields if f.name != "token_hash"]
    exclude = ("token_hash",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
