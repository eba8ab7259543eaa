"""Every response carries the security headers: the API and problems a strict CSP, the admin a
same-origin one, the Swagger UI page what it needs; HSTS on HTTPS answers only; HTTP is
redirected (when asked) except on the paths only the cluster calls."""

import pytest
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory
from drf_spectacular.settings import patched_settings

from edn_core.security import API_POLICY, PAGE_POLICY, ContentSecurityPolicyMiddleware, docs_policy
from tests.conftest import bearer_token

AUTH = {"HTTP_AUTHORIZATION": f"Bearer {bearer_token()}"}
HSTS = "max-age=31536000; includeSubDomains"


def assert_common_headers(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.fixture
def dapr_routes(settings):
    settings.ROOT_URLCONF = "tests.edn_core.dapr_urls"


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/customers", AUTH, 200),
        ("/api/customers", {}, 401),
        ("/api/customers/not-a-uuid", AUTH, 404),
        ("/api/nowhere", AUTH, 404),
        ("/healthz", {}, 200),
        ("/readyz", {}, 200),
        ("/api/schema/", {}, 200),
        ("/dapr/subscribe", {}, 200),
    ],
)
def test_data_and_problems_get_the_strict_policy(client, dapr_routes, path, headers, status):
    response = client.get(path, **headers)
    assert response.status_code == status
    assert_common_headers(response)
    assert response["Content-Security-Policy"] == API_POLICY
    assert "Strict-Transport-Security" not in response  # plain HTTP


@pytest.mark.django_db(databases="__all__")
def test_the_admin_gets_a_same_origin_page_policy(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert_common_headers(response)
    assert response["Content-Security-Policy"] == PAGE_POLICY
    assert "script-src" not in PAGE_POLICY and "default-src 'self'" in PAGE_POLICY  # no inline JS
    assert "frame-ancestors 'none'" in PAGE_POLICY


def test_the_swagger_page_loads_everything_from_this_origin(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert_common_headers(response)
    policy = response["Content-Security-Policy"]
    assert policy == docs_policy()
    assert "script-src 'self';" in policy  # no inline script, no other origin
    assert "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "http" not in policy and "<script>" not in response.text
    sidecar = "/static/drf_spectacular_sidecar/swagger-ui-dist/"
    assert f'src="{sidecar}swagger-ui-bundle.js"' in response.text
    assert 'src="/api/docs/?script="' in response.text
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"] == "application/javascript" and "SwaggerUIBundle" in script.text


def test_the_swagger_page_may_load_its_assets_from_where_they_are_configured(client, settings):
    moved_assets = {
        "SWAGGER_UI_DIST": "https://assets.example.org/swagger-ui",
        "SWAGGER_UI_FAVICON_HREF": "/static/favicon.png",
    }
    with patched_settings(moved_assets):
        moved = client.get("/api/docs/")
    assert 'src="https://assets.example.org/swagger-ui/swagger-ui-bundle.js"' in moved.text
    assert "script-src 'self' https://assets.example.org;" in moved["Content-Security-Policy"]
    settings.STATIC_URL = "https://static.example.net/app/"  # the sidecar's, elsewhere
    assert "script-src 'self' https://static.example.net;" in docs_policy()


@pytest.mark.django_db(databases="__all__")
def test_hsts_is_sent_on_https_answers(client, settings):
    assert client.get("/healthz", secure=True)["Strict-Transport-Security"] == HSTS
    assert client.get("/api/customers", secure=True, **AUTH)["Strict-Transport-Security"] == HSTS
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    behind_ingress = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert behind_ingress["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in client.get("/healthz", HTTP_X_FORWARDED_PROTO="http")


@pytest.mark.django_db(databases="__all__")
def test_the_https_redirect_spares_what_only_the_cluster_calls(client, settings, dapr_routes):
    settings.SECURE_SSL_REDIRECT = True
    redirected = client.get("/api/customers", **AUTH)
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://testserver/api/customers"
    assert client.get("/admin/login/").status_code == 301
    for path in ("/healthz", "/readyz", "/dapr/subscribe"):
        assert client.get(path).status_code == 200, path


def run_middleware(response, path="/"):
    return ContentSecurityPolicyMiddleware(lambda request: response)(RequestFactory().get(path))


def test_a_policy_set_by_the_view_is_kept():
    own = HttpResponse("<p>hi</p>")
    own["Content-Security-Policy"] = "default-src 'self' https://example.org"
    assert (
        run_middleware(own)["Content-Security-Policy"] == "default-src 'self' https://example.org"
    )
    assert run_middleware(JsonResponse({}))["Content-Security-Policy"] == API_POLICY


def test_django_debug_error_pages_keep_their_inline_styles(settings):
    settings.DEBUG = True
    assert "Content-Security-Policy" not in run_middleware(HttpResponse("<h1>x</h1>", status=500))
    settings.DEBUG = False
    assert run_middleware(HttpResponse("<h1>x</h1>", status=500))["Content-Security-Policy"] == (
        PAGE_POLICY
    )
