"""Statuses pyari answers that Asterisk's api-docs do not declare.

The Swagger 1.1 api-docs keep Asterisk's ``errorResponses`` exactly (clients
and the contract test compare them); the OpenAPI 3.1 document declares every
status the server really sends, from three sources:

* the request pipeline, for every operation (:func:`pipeline_errors`);
* :data:`SUCCESS`: operations whose success is not 200 (a body) or 204 (void);
* :data:`MORE_ERRORS`: statuses a handler answers beyond ``Operation.errors``.

``tests/security/test_openapi_truth.py`` derives the statuses each handler can
answer from its code and checks they are all declared here or in the spec.
"""

from __future__ import annotations

from pyari.ari.spec import ErrorResponse, Operation

SUCCESS: dict[str, int] = {
    "channels.play": 201,
    "channels.playWithId": 201,
    "channels.record": 201,
    "bridges.play": 201,
    "bridges.playWithId": 201,
    "bridges.record": 201,
    "endpoints.sendMessage": 202,
    "endpoints.sendMessageToEndpoint": 202,
    "endpoints.refer": 202,
    "endpoints.referToEndpoint": 202,
}
"""Success status by operation key (Asterisk's 201 Created and 202 Accepted)."""

_IO = ErrorResponse(500, "The file operation failed on the server")

MORE_ERRORS: dict[str, tuple[ErrorResponse, ...]] = {
    "channels.rtpstatistics": (ErrorResponse(403, "Channel type has no RTP statistics"),),
    "channels.snoopChannel": (ErrorResponse(409, "Snoop channel id already in use"),),
    "channels.snoopChannelWithId": (ErrorResponse(409, "Snoop channel id already in use"),),
    "bridges.clearVideoSource": (ErrorResponse(409, "Bridge not in Stasis application"),),
    "recordings.listStored": (_IO,),
    "asterisk.addLog": (ErrorResponse(500, "The log channel could not be made"),),
    "recordings.getStored": (_IO,),
    "recordings.deleteStored": (_IO,),
    "recordings.getStoredFile": (_IO,),
    "recordings.copyStored": (ErrorResponse(403, "Destination file path is forbidden"), _IO),
    "recordings.cancel": (ErrorResponse(409, "Recording not in session"),),
    "recordings.stop": (ErrorResponse(409, "Recording not in session"),),
    "playbacks.stop": (ErrorResponse(500, "The playback could not be stopped"),),
    "playbacks.control": (ErrorResponse(500, "The playback refused the operation"),),
}
"""Error statuses by operation key, beyond the operation's declared ``errors``."""

BAD_REQUEST = (
    "Bad request: a parameter of the wrong type or outside its allowed values, a required "
    "parameter missing or empty, too many query parameters, or a body that is not JSON"
)
UNAUTHORIZED = "Authentication required (no or wrong credentials)"
READ_ONLY = "Write access denied: the ARI user is read-only"
MODULE_UNLOADED = "Resource not found: the module serving this resource is unloaded"
TOO_LARGE = "Request body too large (a JSON or form body over 40960 bytes)"


def pipeline_errors(op: Operation) -> tuple[ErrorResponse, ...]:
    """What the request pipeline (:mod:`pyari.ari.service`) may answer for ``op``."""
    if op.websocket:
        # Answered by AriService.open_events (pyari.ari.service), before the upgrade.
        return (
            ErrorResponse(400, "The app parameter is missing"),
            ErrorResponse(401, UNAUTHORIZED),
            ErrorResponse(403, "An application is held by a read-write user (read-only user)"),
            ErrorResponse(426, "Upgrade Required: not a WebSocket upgrade request"),
        )
    out = [
        ErrorResponse(400, BAD_REQUEST),
        ErrorResponse(401, UNAUTHORIZED),
        ErrorResponse(404, MODULE_UNLOADED),
        ErrorResponse(413, TOO_LARGE),
    ]
    if op.method != "GET":
        out.append(ErrorResponse(403, READ_ONLY))
    return tuple(out)
