"""Request rate limits (runtime/ratelimit.py): POSTs counted per address or per user, a
themed 429 that says when to try again, the lockout untouched, rates set per instance."""

from __future__ import annotations

import pytest

from tests.conftest import (
    AuthActions,
    add_user,
    csrf_token,
    login,
    make_app,
    redis_config,
    submit,
)

WRONG = "not-the-password"


def _pt_br(tenant_dir):
    """The minimal tenant in Portuguese, built."""
    from generator.build import build

    tenant = tenant_dir / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("locale: en", "locale: pt-BR"))
    return build(str(tenant), tenant_dir.parent / "build").instance


def _refused_logins(reason: str) -> float:
    from runtime.observability import REGISTRY

    return REGISTRY.get_sample_value("portal_failed_logins_total",
                                     {"tenant": "minimal", "reason": reason}) or 0


def test_logins_past_the_rate_get_a_translated_429_that_says_when(tenant_dir):
    app = make_app(_pt_br(tenant_dir), PORTAL_RATE_LIMITS={"login": "3 per minute"})
    add_user(app)
    client = app.test_client()
    for _ in range(5):  # showing the form costs nothing and is never counted
        assert client.get("/login").status_code == 200
    auth = AuthActions(client)
    for _ in range(3):
        assert auth.login(password=WRONG).status_code == 401
    rated = _refused_logins("rate")
    refused = auth.login()  # the right password, but over the rate: not even checked
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert _refused_logins("rate") == rated + 1  # told apart from the lockout in /metrics
    assert "Muitas tentativas em pouco tempo. Tente de novo em" in html
    assert '<html lang="pt-BR">' in html  # the themed error page, not Werkzeug's
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "/login" in client.get("/").location  # still logged out
    # another address has its own count
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert AuthActions(other).login().status_code == 302


def test_the_lockout_still_counts_per_account_under_the_rate(sqlite_app):
    """Five failures lock the account (the lockout's 429 on the login page), well before
    the default request rate of the address."""
    add_user(sqlite_app)
    auth = AuthActions(sqlite_app.test_client())
    assert [auth.login(password=WRONG).status_code for _ in range(5)] == [401] * 5
    before = _refused_logins("locked")
    locked = auth.login()
    assert locked.status_code == 429
    assert _refused_logins("locked") == before + 1
    assert "Too many failed attempts. Wait 15 minutes" in locked.get_data(as_text=True)
    assert "Retry-After" not in locked.headers  # the lockout's answer, not the limiter's


def test_reset_links_are_limited_per_address(sqlite_app):
    client = sqlite_app.test_client()
    answers = [submit(client, "/forgot", {"identifier": f"x{i}@example.com"}).status_code
               for i in range(6)]
    assert answers == [302] * 5 + [429]  # the default: 5 a minute


def test_new_requests_are_limited_per_user_not_per_address(desk_instance):
    app = make_app(desk_instance, PORTAL_RATE_LIMITS={"write": "2 per minute"})
    add_user(app, "client@example.com", name="Clara Client")
    add_user(app, "other@example.com", name="Otto Other")
    fields = {"f_room": "Kitchen", "description": "Water under the sink"}

    def send(client):
        return submit(client, "/contact/repairs/leak", fields,
                      content_type="multipart/form-data").status_code

    clara = login(app, "client@example.com")
    otto = login(app, "other@example.com")  # same address (127.0.0.1)
    assert [send(clara), send(clara), send(clara)] == [302, 302, 429]
    assert send(otto) == 302
    # a message on an existing request counts in the same "write" rate
    protocol = submit(otto, "/contact/repairs/leak", fields,
                      content_type="multipart/form-data").location.rsplit("/", 1)[1]
    page = otto.get(f"/tickets/{protocol}").get_data(as_text=True)
    reply = otto.post(f"/tickets/{protocol}/reply",
                      data={"body": "Still wet", "csrf_token": csrf_token(page)})
    assert reply.status_code == 429


def test_rates_are_shared_through_redis(built_instance, redis_url):
    """Two apps (two processes, two nodes) on one Redis count one client together."""
    config = {**redis_config(redis_url), "PORTAL_RATE_LIMITS": {"login": "4 per minute"}}
    a, b = make_app(built_instance, **config), make_app(built_instance, **config)
    add_user(a)
    try:
        on_a, on_b = AuthActions(a.test_client()), AuthActions(b.test_client())
        statuses = [(on_a if i % 2 else on_b).login(password=WRONG).status_code
                    for i in range(4)]
        assert statuses == [401] * 4
        assert on_a.login().status_code == 429 and on_b.login().status_code == 429
    finally:
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"*{config['PORTAL_REDIS_PREFIX']}*"):
            client.delete(key)


@pytest.mark.parametrize(("value", "message"), [
    ('{"login": "ten a minute"}', 'RATE_LIMITS: login: expected a rate such as "10 per minute"'),
    ('{"logon": "10 per minute"}', "RATE_LIMITS: unknown limit 'logon'; the limits are login"),
    ('"10 per minute"', 'RATE_LIMITS: expected a mapping such as {"login": "10 per minute"}'),
])
def test_a_wrong_rate_stops_the_start_with_a_clear_message(built_instance, monkeypatch,
                                                           value, message):
    from runtime import InstanceError, create_app

    monkeypatch.setenv("PORTAL_RATE_LIMITS", value)
    with pytest.raises(InstanceError) as caught:
        create_app(built_instance)
    assert message in str(caught.value)


def test_rates_from_the_settings_file(built_instance):
    (built_instance / "settings.py").write_text('RATE_LIMITS = {"forgot": "1 per hour"}\n')
    app = make_app(built_instance)
    assert app.config["PORTAL_RATE_LIMITS"] == {"forgot": "1 per hour"}
    client = app.test_client()
    assert submit(client, "/forgot", {"identifier": "a@example.com"}).status_code == 302
    assert submit(client, "/forgot", {"identifier": "b@example.com"}).status_code == 429
