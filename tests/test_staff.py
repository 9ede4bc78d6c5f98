"""The staff console: accounts and first-access links."""

from __future__ import annotations

from tests.conftest import add_user, mail_link, outbox, submit


def test_only_staff_reach_the_console(app, client, auth):
    add_user(app)
    add_user(app, "staff@example.com", role="staff", name="Ana Staff")
    assert client.get("/staff/").status_code == 302  # anonymous: log in first
    auth.login()
    assert client.get("/staff/").status_code == 403
    assert client.get("/staff/clients").status_code == 403
    auth.logout()
    response = auth.login("staff@example.com")
    assert response.location == "/staff/"
    assert "Overview" in client.get("/staff/").get_data(as_text=True)


def test_staff_create_a_client_who_activates_by_link(app, client, auth):
    add_user(app, "staff@example.com", role="staff")
    auth.login("staff@example.com")
    response = submit(client, "/staff/clients/new", {
        "name": "João Lima", "email": "Joao@Example.com", "document": "111.444.777-35",
        "phone": "+55 11 97777-2222", "role": "client", "send_invite": "y"})
    assert response.status_code == 302
    [message] = outbox(app)
    assert message["To"] == "joao@example.com"
    listing = client.get("/staff/clients?q=111444").get_data(as_text=True)
    assert "João Lima" in listing and "Waiting for first access" in listing
    auth.logout()
    link = mail_link(message)
    submit(client, link, {"password": "joao-password", "confirm": "joao-password"})
    assert "João" in client.get("/").get_data(as_text=True)


def test_bad_client_data_is_explained_and_kept(app, client, auth):
    add_user(app, "staff@example.com", role="staff")
    auth.login("staff@example.com")
    response = submit(client, "/staff/clients/new", {
        "name": "Typo", "email": "staff@example.com", "document": "123.456.789-00",
        "role": "client"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Not a valid CPF or CNPJ (check the digits)." in page
    assert 'value="Typo"' in page


def test_staff_cannot_create_staff_but_admins_can(app, client, auth):
    add_user(app, "staff@example.com", role="staff")
    add_user(app, "admin@example.com", role="admin")
    auth.login("staff@example.com")
    response = submit(client, "/staff/clients/new", {
        "name": "Sneaky", "email": "sneaky@example.com", "role": "admin"})
    assert response.status_code == 400  # not a choice a staff member is offered
    auth.logout()
    auth.login("admin@example.com")
    response = submit(client, "/staff/clients/new", {
        "name": "New Staff", "email": "new@example.com", "role": "staff"})
    assert response.status_code == 302


def test_deactivated_clients_cannot_log_in(app, client, auth):
    user_id = add_user(app)
    add_user(app, "staff@example.com", role="staff")
    auth.login("staff@example.com")
    submit(client, f"/staff/clients/{user_id}/toggle", {}, page=f"/staff/clients/{user_id}")
    auth.logout()
    assert auth.login().status_code == 401
