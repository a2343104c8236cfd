"""config/acl.py: address rules as Asterisk's acl.c applies them, acl.conf's named ACLs."""

from __future__ import annotations

import ipaddress
import re

import pytest

from pyari.config.acl import (
    BASELINE,
    address_in,
    build_acl,
    load_named_acls,
    parse_network,
    permits,
    rules_from,
)
from pyari.config.errors import ConfigError
from pyari.config.parser import parse_text


def test_rule_forms() -> None:
    assert parse_network("10.1.2.3") == ipaddress.ip_network("10.1.2.3/32")
    assert parse_network("10.1.2.3/8") == ipaddress.ip_network("10.0.0.0/8")
    assert parse_network("10.1.2.3/255.255.0.0") == ipaddress.ip_network("10.1.0.0/16")
    assert parse_network("0.0.0.0/0.0.0.0") == ipaddress.ip_network("0.0.0.0/0")
    assert parse_network("[2001:db8::1]/32") == ipaddress.ip_network("2001:db8::/32")
    assert parse_network("::ffff:192.0.2.7") == ipaddress.ip_network("192.0.2.7/32")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("127.0.0.300", "Invalid IP address: 127.0.0.300"),
        ("host.example", "Invalid IP address: host.example"),
        ("10.0.0.0/33", "Invalid CIDR netmask: 33"),
        ("10.0.0.0/x", "Invalid CIDR netmask: x"),
        ("10.0.0.0/ffff::", "Address and mask are not using same address scheme."),
        ("10.0.0.0/255.0.255.0", "Invalid netmask: 255.0.255.0 (not contiguous)"),
    ],
)
def test_bad_rules_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(reason) + "$"):
        parse_network(text)


def test_last_matching_rule_wins_and_the_default_allows() -> None:
    rules = rules_from("deny", "0.0.0.0/0.0.0.0") + rules_from("permit", "127.0.0.2")
    assert not permits(rules, "127.0.0.1")
    assert permits(rules, "127.0.0.2")
    assert permits((), "192.0.2.1")
    # permit first, then deny all: the deny is the last match for everyone
    assert not permits(
        rules_from("permit", "127.0.0.2") + rules_from("deny", "0.0.0.0/0"), "127.0.0.2"
    )


def test_negation_and_lists() -> None:
    rules = rules_from("deny", "!10.0.0.0/8, 192.0.2.0/24")
    assert [r.allow for r in rules] == [True, False]
    assert permits(rules, "10.1.1.1") and not permits(rules, "192.0.2.9")


def test_families() -> None:
    v4 = ipaddress.ip_network("127.0.0.0/8")
    assert address_in("::ffff:127.0.0.1", v4)  # IPv4 rules apply to mapped addresses
    assert not address_in("::1", v4)  # and not to IPv6 ones
    assert not address_in("::ffff:127.0.0.1", ipaddress.ip_network("::/0"))
    assert not address_in("not-an-address", v4)
    assert permits(rules_from("deny", "0.0.0.0/0"), "::1")  # as in Asterisk


def entries(text: str) -> list[object]:
    return list(parse_text(text, "ari.conf")[0].entries)


def test_acl_of_a_section_base_first_then_named_in_order() -> None:
    named = load_named_acls(
        parse_text("[general]\n[lan]\ndeny = 0.0.0.0/0\npermit = 10.0.0.0/8\n", "acl.conf")
    )
    acl = build_acl(
        parse_text("[u]\nacl = lan\npermit = 127.0.0.1\ndeny = 127.0.0.0/8\n", "ari.conf")[
            0
        ].entries,
        named,
    )
    assert [p.name for p in acl.parts] == ["", "lan"]
    assert acl.refusing("127.0.0.1") == BASELINE
    assert acl.refusing("10.0.0.1") is None
    assert acl.refusing("192.0.2.1") == "lan"
    assert not build_acl(parse_text("[u]\npassword = x\n", "ari.conf")[0].entries, named)


def test_undefined_named_acl_refuses_everyone_and_a_repeated_one_is_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    acl = build_acl(parse_text("[u]\nacl = missing\n", "ari.conf")[0].entries, {})
    assert acl.refusing("127.0.0.1") == "missing"
    assert "ACL 'missing' does not exist" in caplog.text
    with pytest.raises(ConfigError, match="occurs multiple times"):
        build_acl(parse_text("[u]\nacl = a, A\n", "ari.conf")[0].entries, {"a": ()})


def test_acl_conf_refuses_bad_rules_and_other_options() -> None:
    with pytest.raises(ConfigError, match=r"acl.conf:2: Bad ACL 'nowhere'"):
        load_named_acls(parse_text("[x]\npermit = nowhere\n", "acl.conf"))
    with pytest.raises(ConfigError, match="unknown option 'allow'"):
        load_named_acls(parse_text("[x]\nallow = 10.0.0.1\n", "acl.conf"))
