"""DRF permission classes built from the capability matrix in accounts.roles."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


def capability(permission: str) -> type[BasePermission]:
    """A permission class that admits users holding one Django permission."""

    class HasCapability(BasePermission):
        message = f"Your role does not allow this ({permission})."

        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm(permission))

    HasCapability.__name__ = f"HasCapability[{permission}]"
    return HasCapability
