import pytest

from tests.factories import PASSWORD, make_user


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2():
    user = make_user("annotator")
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)


@pytest.mark.django_db
def test_login_page_signs_in_and_redirects_to_studies(client):
    make_user("radiologist", username="rad")
    response = client.post("/login/", {"username": "rad", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/studies/"


@pytest.mark.django_db
def test_login_is_throttled_after_repeated_failures(client, settings):
    settings.LOGIN_THROTTLE_LIMIT = 3
    make_user("radiologist", username="rad")
    for _ in range(3):
        assert client.post("/login/", {"username": "rad", "password": "wrong"}).status_code == 200
    # Even the right password is refused while locked, with a clear message.
    response = client.post("/login/", {"username": "rad", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


@pytest.mark.django_db
def test_lockout_is_per_username_not_global(client, settings):
    settings.LOGIN_THROTTLE_LIMIT = 2
    make_user("radiologist", username="rad")
    make_user("annotator", username="ann")
    for _ in range(2):
        client.post("/login/", {"username": "rad", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    response = client.post(
        "/login/", {"username": "ann", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_token_auth(api_client):
    make_user("researcher", username="res")
    response = api_client.post(
        "/api/auth/token", {"username": "res", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/studies").status_code == 200


@pytest.mark.django_db
def test_token_endpoint_is_throttled(api_client, settings):
    settings.LOGIN_THROTTLE_LIMIT = 2
    make_user("researcher", username="res")
    for _ in range(2):
        assert (
            api_client.post("/api/auth/token", {"username": "res", "password": "x"}).status_code
            == 400
        )
    assert (
        api_client.post("/api/auth/token", {"username": "res", "password": PASSWORD}).status_code
        == 429
    )


@pytest.mark.django_db
def test_bad_token_is_refused(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.get("/api/studies").status_code == 401
