from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    """What the navigation bar needs to show links by role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_is_approver": user.is_superuser
        or user.groups.filter(approved_accounts__isnull=False).exists(),
        "nav_is_admin": user.is_superuser,
    }
