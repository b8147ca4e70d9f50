"""The OpenAPI schema and the interactive docs, served without the internet."""

import pytest
from django.test import Client

SPEC_PATHS = [
    "/api/v1/auth/token/",
    "/api/v1/accounts/",
    "/api/v1/requests/",
    "/api/v1/requests/{id}/",
    "/api/v1/requests/{id}/approve/",
    "/api/v1/requests/{id}/reject/",
    "/api/v1/requests/{id}/cancel/",
    "/api/v1/grants/",
    "/api/v1/grants/{id}/",
    "/api/v1/grants/{id}/credentials/",
    "/api/v1/grants/{id}/revoke/",
    "/api/v1/grants/{id}/extend/",
    "/api/v1/policies/validate/",
    "/api/v1/audit/",
]


@pytest.fixture
def schema(db):
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_describes_every_endpoint_of_the_spec_and_its_errors(schema):
    assert schema["openapi"].startswith("3.")
    for path in SPEC_PATHS:
        assert path in schema["paths"], path
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "401" in operation["responses"], (method, path)
            if method == "post" and operation.get("requestBody"):
                assert "400" in operation["responses"], (method, path)
    approve = schema["paths"]["/api/v1/requests/{id}/approve/"]["post"]["responses"]
    assert {"403", "404", "409"} <= set(approve)
    credentials = schema["paths"]["/api/v1/grants/{id}/credentials/"]["post"]["responses"]
    assert "429" in credentials


def test_the_docs_page_loads_swagger_ui_from_the_portal_itself(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    asset = Client().get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
