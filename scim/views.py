"""/scim/v2/: one Django view hands every SCIM request to scim2-server's handler.

Authentication is a SCIM bearer token (``scim.tokens``), never a session or an API token:
the only client is the identity provider. Each request runs in one transaction; a SCIM
error rolls back what the request wrote. ``/ServiceProviderConfig`` needs no token
(RFC 7644 §4), everything else does.

Entra ID sends the enterprise ``manager`` as a bare id string in PATCH ("value": "42"); the
request body is rewritten to the ``{"value": "42"}`` the schema defines before parsing.
"""

import json
import logging

from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from scim2_models import Context, SCIMException, UnauthorizedException
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.routing import Operation
from scim2_server.service import ScimService

from .resources import ENTERPRISE, scim_provider
from .storage import DirectoryStorage
from .tokens import scim_token_for_header

log = logging.getLogger("keyledger.scim")
PREFIX = "/scim/v2"


class KeyledgerScimService(ScimService):
    def patch_response(self, base_url, resource, response_parameters):
        """200 with the resource after every PATCH (RFC 7644 §3.5.2 allows it; scim2-server
        answers 204): Okta reads the user back from the answer."""
        return self.resource_response(self.publish(base_url, resource),
                                      Context.RESOURCE_REPLACEMENT_RESPONSE, response_parameters)


_service = KeyledgerScimService(scim_provider())
_handler = ScimHandler(_service, DirectoryStorage())


def _entra_manager(body: bytes) -> bytes:
    """Entra's bare-id manager in a PATCH, as the schema's complex value."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    operations = payload.get("Operations") if isinstance(payload, dict) else None
    if not isinstance(operations, list):
        return body
    changed = False
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        path = str(operation.get("path") or "")
        if path.lower() in (f"{ENTERPRISE}:manager".lower(),) and \
                isinstance(operation.get("value"), str):
            operation["value"] = {"value": operation["value"]}
            changed = True
    return json.dumps(payload).encode() if changed else body


def _response(scim_response) -> HttpResponse:
    body = b"" if scim_response.body is None else json.dumps(scim_response.body).encode()
    response = HttpResponse(body, status=int(scim_response.status))
    for name, value in scim_response.headers.items():
        response[name] = value
    return response


@csrf_exempt
def scim_endpoint(request, path: str = ""):
    """Any SCIM request under /scim/v2/."""
    scim_request = ScimRequest(
        method=request.method, base_url=request.build_absolute_uri(PREFIX),
        path="/" + path.strip("/"), query=request.GET.dict(),
        headers=dict(request.headers), body=_entra_manager(request.body))
    try:
        needs_token = _service.match(scim_request).operation is not \
            Operation.service_provider_config
        token = scim_token_for_header(request.headers.get("Authorization"))
        if needs_token and token is None:
            raise UnauthorizedException(detail="a valid SCIM bearer token is required")
        scim_request.subject = token
        with transaction.atomic():
            scim_response = _handler.handle(scim_request)
    except SCIMException as exc:
        log.info("SCIM %s %s refused: %s %s", request.method, path, exc.status, exc)
        scim_response = _service.error_response(exc)
    scim_response.headers.setdefault("Location", scim_request.url)
    return _response(scim_response)
