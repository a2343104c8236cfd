"""pyari.sip: SIP (RFC 3261) as sans-IO code — messages, transactions, dialogs, digest
authentication, the registrar and SDP offer/answer. Transports live in
:mod:`pyari.sip.transport`, the only module here that touches sockets."""
