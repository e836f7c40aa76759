"""The API's docs page and its security schemes, working offline.

FastAPI's `/docs` loads Swagger UI from a CDN, which fails on a server without internet: the
files come from the `swagger-ui-bundle` package instead. The OpenAPI document names the two ways
to send a key, so Swagger UI shows its Authorize button and every `/api/v1` operation says it
needs one.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = "/docs-assets"
SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API key from `cxhub keys create`."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "The same key, in a header of its own."},
}

# Every API operation may answer these; each carries {"detail": ...} saying why.
_DETAIL = {"application/json": {"schema": {"type": "object", "properties": {"detail": {}}}}}
ERRORS = {
    401: "no key, or an unknown or revoked one",
    403: "the key lacks the scope this operation needs",
    404: "no such record (the message names the id)",
    422: "a parameter or the body is invalid (each error names its place and field)",
}


def install(app: FastAPI) -> None:
    import swagger_ui_bundle

    app.mount(ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
            spec.setdefault("components", {})["securitySchemes"] = SCHEMES
            for path, operations in spec.get("paths", {}).items():
                if path.startswith("/api/v1/"):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}, {"apiKey": []}]
                        answers = operation.setdefault("responses", {})
                        for code, text in ERRORS.items():
                            answers.setdefault(str(code), {"description": text,
                                                           "content": _DETAIL})
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
