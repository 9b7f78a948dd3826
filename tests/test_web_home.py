from webapp import create_app


def test_home_says_what_to_configure_without_oauth(make_config):
    app = create_app(make_config())
    page = app.test_client().get("/").get_data(as_text=True)
    assert "Login is not configured yet" in page
    assert "oauth.client_id" in page and "oauth.owner_only_token" in page
    assert "Edit existing pages" in page


def test_home_hides_setup_help_when_login_is_configured(make_config):
    app = create_app(make_config(oauth={"client_id": "id", "client_secret": "secret"}))
    assert "Login is not configured yet" not in app.test_client().get("/").get_data(as_text=True)


def test_healthz_is_an_empty_200(make_config):
    response = create_app(make_config()).test_client().get("/healthz")
    assert response.status_code == 200 and response.data == b""
