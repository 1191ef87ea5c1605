"""Login throttling (django-axes): guessing passwords gets an address locked out, before any
password is hashed, so a brute-force run cannot slow the server (and its cameras) down."""

from __future__ import annotations

import pytest

from tests.dashboard.live import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def attempt(client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


class TestLoginThrottling:
    def test_too_many_wrong_passwords_lock_the_address_out_even_with_the_right_one(self, client, viewer, settings):
        settings.AXES_FAILURE_LIMIT = 3
        codes = [attempt(client, "olga", "wrong").status_code for _ in range(3)]
        assert codes == [200, 200, 429]  # the form again with its error, then the third failure locks
        locked = attempt(client, "olga", PASSWORD)
        assert locked.status_code == 429
        assert "Too many failed sign-ins" in locked.content.decode()
        assert client.get("/").status_code == 302  # still not logged in

    def test_another_address_can_still_sign_in(self, client, viewer, settings):
        settings.AXES_FAILURE_LIMIT = 3
        for _ in range(3):
            attempt(client, "someone", "guess", REMOTE_ADDR="203.0.113.9")
        assert attempt(client, "olga", PASSWORD, REMOTE_ADDR="198.51.100.4").status_code == 302

    def test_a_successful_sign_in_is_not_throttled(self, client, viewer, settings):
        settings.AXES_FAILURE_LIMIT = 3
        attempt(client, "olga", "typo")
        attempt(client, "olga", "typo again")
        assert attempt(client, "olga", PASSWORD).status_code == 302

    def test_behind_the_load_balancer_the_forwarded_client_is_locked_out_not_the_balancer(self, client, viewer,
                                                                                          settings):
        # Every request comes from the balancer's address; X-Forwarded-For's last entry is the client
        # it saw (earlier entries are whatever the client sent, so they are not trusted).
        settings.AXES_FAILURE_LIMIT = 3
        settings.AXES_CLIENT_IP_CALLABLE = "inventory_monitor.client_ip.client_ip_behind_proxy"
        balancer = {"REMOTE_ADDR": "10.0.0.2"}
        for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
            attempt(client, "olga", "wrong", HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.9", **balancer)
        assert attempt(client, "olga", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9", **balancer).status_code == 429
        assert attempt(client, "olga", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.4", **balancer).status_code == 302

    def test_the_admin_login_is_throttled_too(self, client, admin_user, settings):
        settings.AXES_FAILURE_LIMIT = 2
        for _ in range(2):
            client.post("/admin/login/", {"username": "admin", "password": "wrong"})
        assert client.post("/admin/login/", {"username": "admin", "password": "password"}).status_code == 429
