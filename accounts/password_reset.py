"""/accounts/password_reset/: Django's reset page, held to a few e-mails an hour.

Anyone may ask for a reset of any address, and Django sends an e-mail every time: without a
limit, a stranger could bury a person's inbox in reset links. Three e-mails an hour to an address
and ten asks an hour from a client address; past either, the same "check your e-mail" page and no
e-mail, so the limit tells nobody whether the address is a user's. Addresses are kept hashed.
"""

import hashlib

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect

from core.http import client_address

PER_EMAIL, PER_CLIENT, WINDOW_SECONDS = 3, 10, 3600


def limit_keys(*, email: str, client: str | None) -> tuple[str, str]:
    """The cache keys counting asks for `email` and from `client`."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"password-reset:email:{digest}", f"password-reset:client:{client or 'unknown'}"


def _over(key: str, limit: int) -> bool:
    """Count one more ask under `key`: True past `limit` in the window."""
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        return cache.incr(key) > limit
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
        return False


class LimitedPasswordResetView(PasswordResetView):
    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        email_key, client_key = limit_keys(
            email=form.cleaned_data["email"], client=client_address(self.request)
        )
        # Both counted, whichever is over.
        over = [_over(email_key, PER_EMAIL), _over(client_key, PER_CLIENT)]
        if any(over):
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
