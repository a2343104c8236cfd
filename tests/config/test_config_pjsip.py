"""pjsip.conf: typed objects, templates, codec lists, references and errors with lines."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from pyari.config import ConfigError, load_one, parse_text
from pyari.config.pjsip import PjsipSettings

SAMPLE = """
[transport-udp]
type = transport
protocol = udp
bind = 0.0.0.0:5070

[transport-tls]
type = transport
protocol = tls
bind = 0.0.0.0
cert_file = /etc/pyari/keys/server.crt
priv_key_file = /etc/pyari/keys/server.key
method = tlsv1_2

[phone](!)
type = endpoint
context = from-phones
disallow = all
allow = alaw,ulaw
dtmf_mode = rfc4733
direct_media = no
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes

[alice](phone)
aors = alice
auth = alice-auth
callerid = "Alice A" <6001>
from_user = alice
transport = transport-udp

[bob](phone)
allow = !alaw
aors = bob
dtmf_mode = info

[alice-auth]
type = auth
auth_type = userpass
username = alice
password = s3cret;not a comment?
realm = example.com

[alice]
type = aor
max_contacts = 2
remove_existing = yes
qualify_frequency = 30
minimum_expiration = 120

[bob]
type = aor
contact = sip:bob@192.0.2.50:5060
contact = sip:bob2@192.0.2.51

[trunk]
type = endpoint
context = from-trunk
allow = ulaw
outbound_auth = trunk-auth
aors = bob

[trunk-auth]
type = auth
auth_type = md5
username = trunkuser
md5_cred = 0123456789ABCDEF0123456789abcdef

[trunk-identify]
type = identify
endpoint = trunk
match = 203.0.113.0/24, 198.51.100.7
match = sip.provider.example

[acct]
type = registration
"""


def settings(text: str = SAMPLE) -> PjsipSettings:
    return PjsipSettings.from_sections(parse_text(text, "pjsip.conf"))


def test_sample() -> None:
    s = settings()
    assert s.transports["transport-udp"].bind == ("0.0.0.0", 5070)
    tls = s.transports["transport-tls"]
    assert (tls.protocol, tls.bind, tls.method) == ("tls", ("0.0.0.0", 5061), "tlsv1_2")
    assert tls.cert_file == Path("/etc/pyari/keys/server.crt")
    alice = s.endpoints["alice"]
    assert alice.context == "from-phones" and alice.allow == ("alaw", "ulaw")
    assert (alice.callerid_name, alice.callerid_number) == ("Alice A", "6001")
    assert not alice.direct_media and alice.rtp_symmetric and alice.rewrite_contact
    assert alice.auth == "alice-auth" and alice.aors == ("alice",)
    bob = s.endpoints["bob"]
    assert bob.allow == ("ulaw",) and bob.dtmf_mode == "info"
    assert "phone" not in s.endpoints  # templates are not objects
    assert s.auths["alice-auth"].password == "s3cret"  # ';' starts a comment, as in Asterisk
    assert s.auths["trunk-auth"].md5_cred == "0123456789abcdef0123456789abcdef"
    aor = s.aors["alice"]
    assert (aor.max_contacts, aor.remove_existing, aor.qualify_frequency) == (2, True, 30)
    assert aor.minimum_expiration == 120 and aor.default_expiration == 3600
    assert s.aors["bob"].contacts == ("sip:bob@192.0.2.50:5060", "sip:bob2@192.0.2.51")
    ident = s.identifies["trunk-identify"]
    assert ipaddress.ip_network("203.0.113.0/24") in ident.networks
    assert ident.hostnames == ("sip.provider.example",)
    assert s.identify("203.0.113.77") is s.endpoints["trunk"]
    assert s.identify("198.51.100.7") is s.endpoints["trunk"]
    assert s.identify("192.0.2.1") is None


def test_embedded_default() -> None:
    s = PjsipSettings.from_sections(load_one(None, "pjsip.conf"))
    udp, ws, wss = s.transports.values()
    assert (udp.protocol, udp.bind) == ("udp", ("127.0.0.1", 5060))
    assert (ws.protocol, wss.protocol) == ("ws", "wss")  # served on the HTTP server's /ws
    ep = s.endpoints["2222"]
    assert ep.context == "ARI-test" and ep.allow == ("ulaw", "alaw") and ep.auth == "2222"
    assert s.auths["2222"].username == "2222" and s.auths["2222"].password
    assert s.aors["2222"].max_contacts == 1
    browser = s.endpoints["webrtc"]
    assert browser.webrtc and browser.media_encryption == "dtls" and browser.ice_support
    assert browser.context == "ARI-test" and s.auths["webrtc"].password


def test_allow_all_then_disallow() -> None:
    s = settings("[e]\ntype=endpoint\nallow=all\ndisallow=g729,opus\nallow=ulaw\n")
    assert s.endpoints["e"].allow[0] == "ulaw"
    assert "g729" not in s.endpoints["e"].allow and "alaw" in s.endpoints["e"].allow


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[t]\ntype=transport\nprotocol=sctp\n", 3, "protocol"),
        ("[t]\ntype=transport\nbind=1.2.3.4:99999\n", 3, "port"),
        ("[t]\ntype=transport\nprotocol=tls\nbind=0.0.0.0\n", 1, "cert_file"),
        ("[e]\ntype=endpoint\ndtmf_mode=loud\n", 3, "dtmf_mode"),
        ("[e]\ntype=endpoint\nallow=ulaw,nosuchcodec\n", 3, "nosuchcodec"),
        ("[e]\ntype=endpoint\ndirect_media=maybe\n", 3, "boolean"),
        ("[e]\ntype=endpoint\naors=missing\n", 3, "no aor named"),
        ("[e]\ntype=endpoint\nauth=missing\n", 3, "no auth named"),
        ("[e]\ntype=endpoint\ntransport=missing\n", 3, "no transport"),
        ("[a]\ntype=aor\nmax_contacts=lots\n", 3, "integer"),
        ("[a]\ntype=aor\ncontact=bob@192.0.2.1\n", 3, "sip:"),
        ("[a]\ntype=auth\nauth_type=md5\nusername=u\nmd5_cred=xyz\n", 5, "hexadecimal"),
        ("[a]\ntype=auth\nauth_type=kerberos\n", 3, "auth_type"),
        ("[a]\ntype=auth\npassword=x\n", 1, "username"),
        ("[i]\ntype=identify\nmatch=1.2.3.4\n", 1, "endpoint"),
        ("[e]\ntype=endpoint\n[i]\ntype=identify\nendpoint=e\nmatch=bad host!\n", 6, "match"),
        ("[x]\ntype=bogus\n", 2, "unknown pjsip object type"),
        ("[x]\ncontext=nothing\n", 1, "no type"),
        ("[e]\ntype=endpoint\n[e]\ntype=endpoint\n", 3, "second endpoint"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings(text)
    assert info.value.file == "pjsip.conf"
    assert info.value.line == line
    assert words in info.value.reason


# --------------------------------------------------------------------------- type=acl

ACLS = """
[blocklist]
type = acl
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1, 10.0.0.0/255.0.0.0
acl = office

[contacts]
type = acl
contact_deny = 0.0.0.0/0
contact_permit = 127.0.0.0/8
contact_acl = nosuch

[empty]
type = acl
"""


def test_acl_sections_are_read_in_order_with_named_acls() -> None:
    from pyari.config.acl import BASELINE, parse_network, rules_from

    # a list starts out allowing: only a deny refuses anything
    named = {"office": rules_from("deny", "0.0.0.0/0") + rules_from("permit", "192.0.2.0/24")}
    s = PjsipSettings.from_sections(parse_text(ACLS, "pjsip.conf"), named)
    assert [a.name for a in s.acls] == ["blocklist", "contacts"]  # [empty] refuses nothing
    block, contacts = s.acls
    assert not block.contact_acl and not contacts.acl
    assert [p.name for p in block.acl.parts] == ["", "office"]
    assert block.acl.refusing("192.0.2.5") == BASELINE
    assert block.acl.parts[0].rules is not None
    assert block.acl.parts[0].rules[0].network == parse_network("0.0.0.0/0")
    assert block.acl.refusing("127.0.0.1") == "office"  # not in office's network
    assert block.acl.refusing("10.1.2.3") == "office"
    assert block.acl.refusing("127.0.0.2") == BASELINE
    # a name acl.conf lacks refuses every address
    assert contacts.contact_acl.refusing("192.0.2.9") == BASELINE
    assert contacts.contact_acl.refusing("127.0.0.1") == "nosuch"


def test_no_acl_section_means_no_check() -> None:
    assert settings().acls == ()


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[a]\ntype=acl\npermit=10.0.0.0/33\n", 3, "Bad ACL"),
        ("[a]\ntype=acl\ncontact_deny=not-an-address\n", 3, "Bad ACL"),
        ("[a]\ntype=acl\ncontactpermit=10.0.0.1\n", 3, "not an option of type=acl"),
        ("[a]\ntype=acl\nacl=x,x\n", 3, "multiple times"),
        ("[a]\ntype=acl\n[a]\ntype=acl\n", 3, "second acl"),
    ],
)
def test_bad_acl_sections_fail_the_load(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings(text)
    assert info.value.line == line
    assert words in info.value.reason


def test_endpoint_acl_options_are_read_with_named_acls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pyari.config.acl import BASELINE, rules_from

    named = {"lan": rules_from("deny", "0.0.0.0/0") + rules_from("permit", "192.0.2.0/24")}
    text = (
        "[e]\ntype=endpoint\ndeny=0.0.0.0/0\npermit=127.0.0.1\nacl=lan\n"
        "contact_deny=0.0.0.0/0\ncontact_permit=10.0.0.0/8\ncontact_acl=nosuch\n"
        "[plain]\ntype=endpoint\n"
    )
    s = PjsipSettings.from_sections(parse_text(text, "pjsip.conf"), named)
    e, plain = s.endpoints["e"], s.endpoints["plain"]
    assert [p.name for p in e.acl.parts] == ["", "lan"]
    assert e.acl.refusing("127.0.0.2") == BASELINE
    assert e.acl.refusing("127.0.0.1") == "lan"  # not in lan's network
    assert [p.name for p in e.contact_acl.parts] == ["", "nosuch"]
    assert e.contact_acl.refusing("10.1.2.3") == "nosuch"  # acl.conf lacks it: refuses all
    assert not plain.acl and not plain.contact_acl
    assert not s.acls  # an endpoint's ACL is no type=acl section
    assert not any("not applied" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[e]\ntype=endpoint\npermit=10.0.0.0/33\n", 3),
        ("[e]\ntype=endpoint\ncontact_deny=not-an-address\n", 3),
        ("[e]\ntype=endpoint\nacl=x,x\n", 3),
    ],
)
def test_bad_endpoint_acl_options_fail_the_load(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        settings(text)
    assert info.value.line == line
