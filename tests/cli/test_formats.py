"""Byte-exact checks of pyari.cli.formats against Asterisk 23.4.1 CLI output.

The first group embeds samples captured from a real Asterisk 23.4.1
(reference cli-outputs.txt); the rest encode the printf formats read from
the Asterisk 23.4.1 sources (main/cli.c, main/http.c, main/stasis.c,
main/channel.c, main/asterisk.c, res/ari/cli.c, res/stasis/app.c).
"""

from __future__ import annotations

import pytest

from pyari.cli import formats as f

# ---------------------------------------------------------------------------
# Captured samples
# ---------------------------------------------------------------------------

HTTP_SHOW_STATUS = (
    "HTTP Server Status:\n"
    "Prefix: \n"
    "Server: Asterisk\n"
    "Server Enabled and Bound to 127.0.0.1:8088\n"
    "\n"
    "Enabled URI's:\n"
    "/phoneprov/... => Asterisk HTTP Phone Provisioning Tool\n"
    "/metrics/... => Prometheus Metrics URI\n"
    "/media/... => Media over Websocket\n"
    "/ari/... => Asterisk RESTful API\n"
    "/ws => Asterisk HTTP WebSocket\n"
    "\n"
    "Enabled Redirects:\n"
    "  None.\n"
    "\n"
    "Path Restrictions:\n"
    "  None.\n"
)

SAMPLE_URIS = [
    f.HttpUri("phoneprov", "Asterisk HTTP Phone Provisioning Tool", True),
    f.HttpUri("metrics", "Prometheus Metrics URI", True),
    f.HttpUri("media", "Media over Websocket", True),
    f.HttpUri("ari", "Asterisk RESTful API", True),
    f.HttpUri("ws", "Asterisk HTTP WebSocket", False),
]


def test_http_show_status_sample() -> None:
    out = f.http_show_status("", "Asterisk", True, ("127.0.0.1", 8088), None, SAMPLE_URIS, [])
    assert out == HTTP_SHOW_STATUS


def test_http_show_status_sample_tuple_uris() -> None:
    uris = [
        ("/phoneprov/...", "Asterisk HTTP Phone Provisioning Tool"),
        ("/metrics/...", "Prometheus Metrics URI"),
        ("/media/...", "Media over Websocket"),
        ("/ari/...", "Asterisk RESTful API"),
        ("/ws", "Asterisk HTTP WebSocket"),
    ]
    out = f.http_show_status("", "Asterisk", True, ("127.0.0.1", 8088), None, uris, [])
    assert out == HTTP_SHOW_STATUS


def test_ari_show_status_sample() -> None:
    assert f.ari_show_status(True, True, "Asterisk REST Interface", "") == (
        "ARI Status:\n"
        "Enabled: Yes\n"
        "Output format: pretty\n"
        "Auth realm: Asterisk REST Interface\n"
        "Allowed Origins: \n"
    )


def test_ari_show_apps_empty_sample() -> None:
    assert f.ari_show_apps([]) == "Application Name         \n=========================\n"


def test_ari_show_users_sample() -> None:
    assert f.ari_show_users([("testARI", False), f.AriUser("testARIro", True)]) == (
        "r/o?  ACL?  Username\n----  ----  --------\nNo    No    testARI\nYes   No    testARIro\n"
    )


def test_ari_show_user_sample() -> None:
    assert f.ari_show_user("testARI", False) == "Username: testARI\nRead only?: No\nACL?: No\n"


CHANNELTYPES = (
    "Type             Description                              Devicestate   Presencestate Indications   Transfer     \n"  # noqa: E501
    "-------------    -------------                            ------------- ------------- ------------- -------------\n"  # noqa: E501
    "Recorder         Bridge Media Recording Channel Driver    no            no            yes           no           \n"  # noqa: E501
    "Announcer        Bridge Media Announcing Channel Driver   no            no            yes           no           \n"  # noqa: E501
    "CBAnn            Conference Bridge Announcing Channel     no            no            yes           no           \n"  # noqa: E501
    "CBRec            Conference Bridge Recording Channel      no            no            no            no           \n"  # noqa: E501
    "AudioSocket      AudioSocket Channel Driver               no            no            no            no           \n"  # noqa: E501
    "WebSocket        Media over WebSocket Channel Driver      no            no            no            no           \n"  # noqa: E501
    "UnicastRTP       Unicast RTP Media Channel Driver         no            no            no            no           \n"  # noqa: E501
    "MulticastRTP     Multicast RTP Paging Channel Driver      no            no            no            no           \n"  # noqa: E501
    "Local            Local Proxy Channel Driver               yes           no            yes           no           \n"  # noqa: E501
    "Surrogate        Surrogate channel used to pull channel f no            no            no            no           \n"  # noqa: E501
    "----------\n"
    "10 channel drivers registered.\n"
)


def test_core_show_channeltypes_sample() -> None:
    rows = [
        f.ChannelType("Recorder", "Bridge Media Recording Channel Driver", indications=True),
        f.ChannelType("Announcer", "Bridge Media Announcing Channel Driver", indications=True),
        f.ChannelType("CBAnn", "Conference Bridge Announcing Channel", indications=True),
        f.ChannelType("CBRec", "Conference Bridge Recording Channel"),
        f.ChannelType("AudioSocket", "AudioSocket Channel Driver"),
        f.ChannelType("WebSocket", "Media over WebSocket Channel Driver"),
        f.ChannelType("UnicastRTP", "Unicast RTP Media Channel Driver"),
        f.ChannelType("MulticastRTP", "Multicast RTP Paging Channel Driver"),
        f.ChannelType("Local", "Local Proxy Channel Driver", devicestate=True, indications=True),
        f.ChannelType("Surrogate", "Surrogate channel used to pull channel from an application"),
    ]
    assert f.core_show_channeltypes(rows) == CHANNELTYPES


def test_core_show_version_sample() -> None:
    out = f.core_show_version("23.4.1", "root", "vm", "x86_64", "Linux", "2026-11-26 03:32:55 UTC")
    assert out == (
        "Asterisk 23.4.1 built by root @ vm on a x86_64 running Linux on 2026-11-26 03:32:55 UTC\n"
    )


def test_module_show_like_sample() -> None:
    mods = [
        f.ModuleRow("res_ari.so", "Asterisk RESTful Interface", 0),
        f.ModuleRow("res_mwi_devstate.so", "MWI Device State Subscriptions", 0),
        f.ModuleRow("res_mwi_external.so", "Core external MWI resource", 1),
    ]
    assert f.module_show(mods, like="mwi") == (
        "Module                         Description                              Use Count  Status      Support Level\n"  # noqa: E501
        "res_mwi_devstate.so            MWI Device State Subscriptions           0          Running              core\n"  # noqa: E501
        "res_mwi_external.so            Core external MWI resource               1          Running              core\n"  # noqa: E501
        "2 modules loaded\n"
    )


# ---------------------------------------------------------------------------
# From source formats
# ---------------------------------------------------------------------------


def test_http_show_status_disabled_and_tls() -> None:
    assert f.http_show_status("/asterisk", "pyari", False, None, None, [], []) == (
        "HTTP Server Status:\n"
        "Prefix: /asterisk\n"
        "Server: pyari\n"
        "Server Disabled\n"
        "\n"
        "Enabled URI's:\n"
        "None.\n"
        "\n"
        "Enabled Redirects:\n"
        "  None.\n"
        "\n"
        "Path Restrictions:\n"
        "  None.\n"
    )
    out = f.http_show_status(
        "/asterisk",
        "Asterisk",
        True,
        ("0.0.0.0", 8088),
        ("::", 8089),
        [f.HttpUri("ari", "Asterisk RESTful API", True)],
        [f.HttpRedirect("/", "/static/index.html"), ("/a", "/b")],
    )
    assert out == (
        "HTTP Server Status:\n"
        "Prefix: /asterisk\n"
        "Server: Asterisk\n"
        "Server Enabled and Bound to 0.0.0.0:8088\n"
        "\n"
        "HTTPS Server Enabled and Bound to [::]:8089\n"
        "\n"
        "Enabled URI's:\n"
        "/asterisk/ari/... => Asterisk RESTful API\n"
        "\n"
        "Enabled Redirects:\n"
        "  / => /static/index.html\n"
        "  /a => /b\n"
        "\n"
        "Path Restrictions:\n"
        "  None.\n"
    )


def test_format_sockaddr() -> None:
    assert f.format_sockaddr("127.0.0.1", 8088) == "127.0.0.1:8088"
    assert f.format_sockaddr("::1", 8088) == "[::1]:8088"
    assert f.format_sockaddr("::ffff:10.0.0.1", 80) == "10.0.0.1:80"


def test_ari_show_status_compact() -> None:
    assert f.ari_show_status(False, False, "realm", "http://a, http://b") == (
        "ARI Status:\n"
        "Enabled: No\n"
        "Output format: compact\n"
        "Auth realm: realm\n"
        "Allowed Origins: http://a, http://b\n"
    )


def test_ari_show_apps_sorted() -> None:
    assert f.ari_show_apps(["hello", "Zed", "abc"]) == (
        "Application Name         \n=========================\nZed\nabc\nhello\n"
    )


def test_ari_show_app() -> None:
    app = f.AriApp(
        "hello",
        debug=True,
        channels=[f.AppForward("1700000000.1", 1), f.AppForward("1700000000.2", 2)],
        bridges=[f.AppForward("b-1")],
    )
    assert f.ari_show_app(app) == (
        "Name: hello\n"
        "  Debug: Yes\n"
        "  Subscription Model: Application/Explicit Resource Subscription\n"
        "  Subscriptions: 3\n"
        "    Channels:\n"
        "      1700000000.1 (1)\n"
        "      1700000000.2 (2)\n"
        "    Bridges:\n"
        "      b-1 (1)\n"
        "    Endpoints:\n"
    )
    assert f.ari_show_app(f.AriApp("all", subscribe_all=True)) == (
        "Name: all\n"
        "  Debug: No\n"
        "  Subscription Model: Global Resource Subscription\n"
        "  Subscriptions: 0\n"
        "    Channels:\n"
        "    Bridges:\n"
        "    Endpoints:\n"
    )


def test_not_found_messages() -> None:
    assert f.ari_show_app_not_found("ari show app nope") == (
        "Command 'ari show app nope' failed.\n"
    )
    assert f.ari_show_user_not_found("bob") == "User 'bob' not found\n"
    assert f.stasis_show_topic_not_found("x", "stasis show topic x") == (
        "Specified topic 'x' does not exist\nCommand 'stasis show topic x' failed.\n"
    )


def test_ari_set_debug() -> None:
    assert f.ari_set_debug(None, True) == "Debugging on all applications enabled\n"
    assert f.ari_set_debug("hello", False) == "Debugging on 'hello' disabled\n"


def test_ari_show_user_acl_yes() -> None:
    assert f.ari_show_users([f.AriUser("u", read_only=True, has_acl=True)]).endswith(
        "Yes   Yes   u\n"
    )
    assert f.ari_show_user("u", True, True) == "Username: u\nRead only?: Yes\nACL?: Yes\n"


def test_stasis_show_topic_seed() -> None:
    out = f.stasis_show_topic("ari:application/hello", "", 1, 0, 238)
    assert out == (
        "Name: ari:application/hello\n"
        "Detail: \n"
        "Subscribers count: 1\n"
        "Forwarding topic count: 0\n"
        "Duration time: 00:03:58\n"
        "\n"
        "Subscribers:\n"
        "\n"
        "Forwarded topics:\n"
    )


def test_stasis_show_topic_lists() -> None:
    out = f.stasis_show_topic(
        "channel:1.1",
        "Channel 1.1",
        [f.StasisSubscriberInfo("sub-1", "channel:1.1", "Channel 1.1")],
        [f.StasisTopicInfo("channel:all", "All channel topics")],
        100 * 3600 + 61,
    )
    assert out == (
        "Name: channel:1.1\n"
        "Detail: Channel 1.1\n"
        "Subscribers count: 1\n"
        "Forwarding topic count: 1\n"
        "Duration time: 100:01:01\n"
        "\n"
        "Subscribers:\n"
        "  UniqueID: sub-1, Topic: channel:1.1, Detail: Channel 1.1\n"
        "\n"
        "Forwarded topics:\n"
        "  Topic: channel:all, Detail: All channel topics\n"
    )


def test_stasis_show_topics() -> None:
    out = f.stasis_show_topics([("bridge:all", "All bridges"), ("ast_system", "")])
    assert out == (
        "\nName" + " " * 60 + " Detail" + " " * 58 + "\n"
        "ast_system" + " " * 54 + " " + " " * 64 + "\n"
        "bridge:all" + " " * 54 + " All bridges" + " " * 53 + "\n"
        "\n2 Total topics\n\n"
    )
    assert f.stasis_show_topics([]) == "\n" + f"{'Name':<64} {'Detail':<64}\n" + (
        "\n0 Total topics\n\n"
    )


def test_stasis_show_topics_case_insensitive_order() -> None:
    out = f.stasis_show_topics([("b", ""), ("A", ""), ("a2", "")])
    names = [line.split()[0] for line in out.splitlines()[2:5]]
    assert names == ["A", "a2", "b"]


# core show channels --------------------------------------------------------

CHAN = f.ChannelRow(
    name="PJSIP/alice-00000001",
    state="Up",
    context="default",
    exten="100",
    priority=2,
    app="Stasis",
    data="hello",
    caller_number="1001",
    accountcode="acct",
    peer_account="",
    amaflags=3,
    duration_seconds=3725,
    bridge_id="",
    uniqueid="1700000000.1",
)
BARE = f.ChannelRow(name="Local/x@y-00000000;1", state="Down")


def test_core_show_channels_normal() -> None:
    out = f.core_show_channels([CHAN, BARE], "normal", active_calls=1, calls_processed=1)
    assert out == (
        f"{'Channel':<64} {'Location':<32} {'State':<7} {'Application(Data)':<30}\n"
        f"{'PJSIP/alice-00000001':<64} {'100@default:2':<32} {'Up':<7} {'Stasis(hello)':<30}\n"
        f"{'Local/x@y-00000000;1':<64} {'(None)':<32} {'Down':<7} {'(None)':<30}\n"
        "2 active channels\n"
        "1 active call\n"
        "1 call processed\n"
    )


def test_core_show_channels_truncation() -> None:
    long = f.ChannelRow(
        name="N" * 70,
        state="Dialing Offhook",
        context="c" * 20,
        exten="e" * 20,
        app="A" * 10,
        data="d" * 40,
    )
    line = f.core_show_channels([long], "normal").splitlines()[1]
    assert line == (
        "N" * 64 + " " + ("e" * 20 + "@" + "c" * 11) + " Dialing " + ("A" * 10 + "(" + "d" * 19)
    )


def test_core_show_channels_concise() -> None:
    out = f.core_show_channels([CHAN, BARE], "concise", active_calls=5, calls_processed=9)
    assert out == (
        "PJSIP/alice-00000001!default!100!2!Up!Stasis!hello!1001!acct!!3!3725!!1700000000.1\n"
        "Local/x@y-00000000;1!!!1!Down!(None)!!!!!3!-!!\n"
    )
    assert f.core_show_channels([], "concise") == ""


def test_core_show_channels_verbose() -> None:
    out = f.core_show_channels([CHAN, BARE], "verbose", 0, 0)
    header = (
        f"{'Channel':<80} {'Context':<24} {'Extension':<24} Prio {'State':<7} "
        f"{'Application':<12} {'Data':<25} {'CallerID':<15} Duration {'Accountcode':<11} "
        f"{'PeerAccount':<11} {'BridgeID':<20}\n"
    )
    row1 = (
        f"{'PJSIP/alice-00000001':<80} {'default':<24} {'100':<24}    2 {'Up':<7} "
        f"{'Stasis':<12} {'hello':<25} {'1001':<15} 01:02:05 {'acct':<11} "
        f"{'':<11} {'':<20}\n"
    )
    row2 = (
        f"{'Local/x@y-00000000;1':<80} {'':<24} {'':<24}    1 {'Down':<7} "
        f"{'(None)':<12} {'(Empty)':<25} {'':<15}        - {'':<11} "
        f"{'':<11} {'':<20}\n"
    )
    assert out == header + row1 + row2 + "2 active channels\n0 active calls\n0 calls processed\n"


def test_core_show_channels_count_and_maxcalls() -> None:
    assert f.core_show_channels([CHAN], "count", active_calls=1, calls_processed=2) == (
        "1 active channel\n1 active call\n2 calls processed\n"
    )
    out = f.core_show_channels([], "count", active_calls=1, calls_processed=0, max_calls=3)
    assert out == (
        "0 active channels\n1 of 3 max active call (33.33% of capacity)\n0 calls processed\n"
    )
    out = f.core_show_channels([], "count", active_calls=0, max_calls=200, active_channels=4)
    assert out == (
        "4 active channels\n0 of 200 max active calls ( 0.00% of capacity)\n0 calls processed\n"
    )


def test_channel_state_name() -> None:
    assert [f.channel_state_name(i) for i in range(10)] == [
        "Down",
        "Rsrvd",
        "OffHook",
        "Dialing",
        "Ring",
        "Ringing",
        "Up",
        "Busy",
        "Dialing Offhook",
        "Pre-ring",
    ]
    assert f.channel_state_name(1 << 16) == "Mute"
    assert f.channel_state_name(42) == "Unknown (42)"


# uptime / calls -----------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "60 seconds"),
        (61, "1 minute, 1 second"),
        (120, "2 minutes"),
        (3600, "60 minutes"),
        (3661, "1 hour, 1 minute, 1 second"),
        (86400 + 7200, "1 day, 2 hours"),
        (8 * 86400, "1 week, 24 hours"),
        (8 * 86400 + 1, "1 week, 1 day, 1 second"),
        (366 * 86400 + 5, "1 year, 1 day, 5 seconds"),
        (
            2 * 365 * 86400 + 3 * 7 * 86400 + 2 * 86400 + 62,
            "2 years, 3 weeks, 2 days, 1 minute, 2 seconds",
        ),
    ],
)
def test_format_uptime(seconds: int, text: str) -> None:
    assert f.format_uptime(seconds) == text


def test_core_show_uptime() -> None:
    assert f.core_show_uptime(3661, 61) == (
        "System uptime: 1 hour, 1 minute, 1 second\nLast reload: 1 minute, 1 second\n"
    )
    assert f.core_show_uptime(3661, 61, seconds=True) == "System uptime: 3661\nLast reload: 61\n"
    assert f.core_show_uptime(5, None) == "System uptime: 5 seconds\n"


def test_core_show_calls() -> None:
    assert f.core_show_calls(2, 1) == "2 active calls\n1 call processed\n"
    assert f.core_show_calls(1, 3, uptime_seconds=1) == (
        "1 active call\n3 calls processed\nSystem uptime: 1 second\n"
    )


# unknown command ----------------------------------------------------------

COMMANDS = [
    "core show channels [concise|verbose|count]",
    "core show version",
    "core show uptime [seconds]",
    "core show help",
    "ari show app",
    "ari show apps",
    "module reload",
    "core reload",
]


def test_unknown_command() -> None:
    assert f.unknown_command("foo bar baz", COMMANDS) == (
        "No such command 'foo bar baz' (type 'core show help foo bar' for other possible "
        "commands)\n"
    )
    assert f.unknown_command("core show foo", COMMANDS) == (
        "No such command 'core show foo' (type 'core show help core show foo' for other "
        "possible commands)\n"
    )
    assert f.unknown_command("core show", COMMANDS) == (
        "No such command 'core show' (type 'core show help core show' for other possible "
        "commands)\n"
    )
    assert f.unknown_command("hello", []) == (
        "No such command 'hello' (type 'core show help hello' for other possible commands)\n"
    )
    assert f.unknown_command("   ", COMMANDS) == ""


def test_find_best_details() -> None:
    # Mismatch allowed only on the last word of both the line and the pattern.
    assert f.find_best(["core", "xyz", "version", "more"], COMMANDS) == "core xyz version"
    # Optional alternatives match their members.
    assert f.find_best(["core", "show", "channels", "verbose", "x"], COMMANDS) == (
        "core show channels verbose x"
    )
    assert f.find_best(["a" * 50, "b" * 50], []) == ("a" * 50 + " " + "b" * 28)


def test_parse_args() -> None:
    assert f.parse_args('  ari  show "my app"\tx\\ y') == ["ari", "show", "my app", "x y"]
    assert f.parse_args('a ""') == ["a", ""]


def test_command_failed_and_reload() -> None:
    assert f.command_failed("x y") == "Command 'x y' failed.\n"
    assert f.module_reload_result("res_ari.so", "success") == (
        "Module 'res_ari.so' reloaded successfully.\n"
    )
    assert f.module_reload_result("nope.so", "not_found") == "No such module 'nope.so'\n"


def test_ess() -> None:
    assert (f.ess(0), f.ess(1), f.ess(2)) == ("s", "", "s")
