"""/accounts/password_reset/ sends at most three e-mails an hour to an address and answers ten asks
an hour from a client address (accounts/password_reset.py); past that, the same page, no e-mail."""

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client

from accounts.password_reset import PER_CLIENT, PER_EMAIL, limit_keys

URL = "/accounts/password_reset/"
DONE = "/accounts/password_reset/done/"


def ask(email: str, *, client_address: str = "192.0.2.10"):
    return Client(REMOTE_ADDR=client_address).post(URL, {"email": email})


@pytest.fixture
def victim(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = User.objects.create_user("victim", email="victim@example.com", password="x-9f!Qp2#Lm")
    for client in ("192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13"):
        cache.delete_many(limit_keys(email=user.email, client=client))
    cache.delete_many(limit_keys(email="nobody@example.com", client="192.0.2.10"))
    return user


def test_an_address_gets_three_reset_emails_an_hour_whoever_asks(victim):
    answers = [ask("victim@example.com", client_address=f"192.0.2.1{i}") for i in range(4)]
    answers.append(ask("VICTIM@example.com ", client_address="192.0.2.13"))

    assert [answer.status_code for answer in answers] == [302] * 5
    assert {answer["Location"] for answer in answers} == {DONE}
    assert len(mail.outbox) == PER_EMAIL
    assert {tuple(message.to) for message in mail.outbox} == {("victim@example.com",)}


def test_a_client_that_asks_too_often_sends_nothing_more(victim):
    for _ in range(PER_CLIENT):
        assert ask("nobody@example.com").status_code == 302

    answer = ask("victim@example.com")

    assert answer.status_code == 302 and answer["Location"] == DONE
    assert mail.outbox == []
