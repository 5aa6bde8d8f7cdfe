"""API access levels (seed 002: "Required access level: Admin Access (Level 3)").

Each view declares `required_level` (an int, or a dict of HTTP method -> int); by default reads need level 1 and
writes level 2. A token below the level gets 403 naming the level it needs."""

from rest_framework import permissions

from subscriptions.models import TokenLevel

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def required_level_for(view, method: str) -> int:
    declared = getattr(view, "required_level", None)
    if isinstance(declared, dict):
        declared = declared.get(method)
    if declared is not None:
        return int(declared)
    return TokenLevel.READ_ONLY if method in SAFE_METHODS else TokenLevel.STANDARD


class HasTokenLevel(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        token = getattr(request, "auth", None)
        if token is None or not getattr(request.user, "is_authenticated", False):
            return False
        needed = required_level_for(view, request.method)
        if token.level < needed:
            self.message = (
                f"This operation requires an API token of access level {needed} "
                f"({TokenLevel(needed).label}); this token has level {token.level}."
            )
            return False
        return True
