"""Every web session of a user, ended at once (a leaver's).

Sessions live in the database (Django's default SESSION_ENGINE, or cached_db), keyed by a random
key with the user's id inside the signed data; there is no index by user, so the live sessions are
read and decoded one by one. Sessions last at most SESSION_COOKIE_AGE (8 hours), so that is the
sign-ins of the last 8 hours: about 20 ms per thousand. Whatever the engine, an inactive user is
already signed out on their next request (Django's ModelBackend.get_user returns no user for an
inactive one); deleting the sessions also keeps them from coming back if the user is reactivated.
"""

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.module_loading import import_string

# The engines whose sessions are rows of django_session (cached_db also caches each one).
DATABASE_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def user_sessions_end(*, user: User) -> int:
    """Delete every live session signed in as `user` (through the engine, so a cached copy goes
    too); how many. 0 for an engine that cannot be listed (cookies, cache only)."""
    if settings.SESSION_ENGINE not in DATABASE_ENGINES:
        return 0
    store_class = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    live = Session.objects.filter(expire_date__gt=timezone.now())
    ended = 0
    for key, data in live.values_list("session_key", "session_data").iterator():
        if store_class().decode(data).get(SESSION_KEY) == str(user.pk):
            store_class(session_key=key).delete()
            ended += 1
    return ended
