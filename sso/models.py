from django.conf import settings
from django.db import models


class SsoIdentity(models.Model):
    """Which person of which identity provider a portal user is. OpenID Connect promises only
    the issuer and `sub` together to be stable and unique (Core 1.0, section 5.7); usernames
    (`preferred_username`, e-mail) can be renamed or reused. A user with an identity is an SSO
    user: their groups and admin flag follow the provider's claims at every sign-in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SSO identity"
        verbose_name_plural = "SSO identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.subject} at {self.issuer})"
