"""``pyari cluster kamailio-config``: write the Kamailio configuration of a cluster's
SIP edge (:mod:`pyari.cluster.kamailio`) and say how to start Kamailio."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

EPILOG = """\
addresses:
  [NAME=][udp:|tcp:]HOST[:PORT] (or [NAME=]sip:HOST[:PORT][;transport=tcp]); the
  port defaults to 5060, the protocol to udp, IPv6 hosts go in brackets. NAME
  names a node in Kamailio's logs (duid).

what Kamailio does with it:
  phones REGISTER to Kamailio (in memory); a call from a phone goes to a node,
  round robin over the nodes that answer OPTIONS (probed every second; a node
  that misses --probing-threshold probes leaves the set, a call it does not
  answer in --fr-timer ms is sent to the next node); a call from a node goes
  to the registered phone its Request-URI names. Each node's pjsip.conf needs
  the `kamailio` endpoint, AOR and identify printed by --pjsip (see
  docs/cluster-kamailio.md).

example:
  pyari cluster kamailio-config --listen 127.0.0.1:5060 \\
      --node n1=127.0.0.1:5070 --node n2=127.0.0.1:5080 --out /tmp/edge
"""


def add_parser(sub: Any) -> None:
    """The ``cluster`` command and its ``kamailio-config`` subcommand."""
    cluster = sub.add_parser(
        "cluster",
        help="tools for running pyari as a cluster (docs/cluster.md)",
        description="Tools for running pyari as a cluster of nodes (docs/cluster.md).",
    )
    actions = cluster.add_subparsers(dest="cluster_action", metavar="ACTION")
    k = actions.add_parser(
        "kamailio-config",
        help="write a Kamailio configuration (registrar + dispatcher) for the nodes",
        description="Write kamailio.cfg and dispatcher.list for a Kamailio 5.6 in front "
        "of the pyari nodes, and print the command that starts it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    k.add_argument(
        "--listen",
        action="append",
        required=True,
        metavar="ADDRESS",
        help="where Kamailio listens for phones and nodes (repeat for more)",
    )
    k.add_argument(
        "--node",
        action="append",
        required=True,
        metavar="ADDRESS",
        help="the SIP address of a pyari node (its pjsip.conf transport; repeat per node)",
    )
    k.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="folder for kamailio.cfg and dispatcher.list (default: the current one)",
    )
    k.add_argument(
        "--ping-interval",
        type=int,
        default=1,
        metavar="SECONDS",
        help="seconds between OPTIONS probes of each node (default 1)",
    )
    k.add_argument(
        "--probing-threshold",
        type=int,
        default=2,
        metavar="N",
        help="probes missed in a row before a node leaves the set (default 2)",
    )
    k.add_argument(
        "--fr-timer",
        type=int,
        default=2000,
        metavar="MS",
        help="milliseconds without any answer before a request fails over (default 2000)",
    )
    k.add_argument(
        "--algorithm",
        choices=("round-robin", "call-id"),
        default="round-robin",
        help="how a node is chosen for a new call (default round-robin)",
    )
    k.add_argument(
        "--any-port",
        action="store_true",
        help="recognize a node by its IP address alone (nodes on their own hosts "
        "sending over TCP); by default IP and port must match",
    )
    k.add_argument(
        "--alias",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="another name the phones use for Kamailio (a domain; repeat for more)",
    )
    k.add_argument(
        "--pjsip",
        action="store_true",
        help="also print the pjsip.conf sections every node needs",
    )
    k.add_argument(
        "--nodes-reach",
        metavar="ADDRESS",
        help="Kamailio's address as the nodes reach it, for --pjsip and the hint "
        "(default: the first --listen; needed when that is 0.0.0.0)",
    )


def run(args: argparse.Namespace) -> int:
    """Carry out ``pyari cluster ...`` (0 on success, 2 for bad arguments)."""
    if args.cluster_action != "kamailio-config":
        print("usage: pyari cluster kamailio-config --listen ADDR --node ADDR ...", file=sys.stderr)
        return 2
    from pyari.cluster.kamailio import (
        KamailioOptions,
        kamailio_command,
        node_pjsip_conf,
        write_kamailio_config,
    )

    try:
        options = KamailioOptions(
            ping_interval=args.ping_interval,
            probing_threshold=args.probing_threshold,
            fr_timer_ms=args.fr_timer,
            fr_inv_timer_ms=max(120000, args.fr_timer),
            algorithm=args.algorithm,
            match_node_port=not args.any_port,
            aliases=tuple(args.alias),
        )
        reach = args.nodes_reach or args.listen[0]
        snippet = node_pjsip_conf(reach) if args.pjsip else ""
        files = write_kamailio_config(args.out, args.listen, args.node, options=options)
        run_dir = files.cfg.parent / "run"
        run_dir.mkdir(exist_ok=True)
    except ValueError as exc:
        print(f"pyari: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pyari: cannot write the files: {exc}", file=sys.stderr)
        return 1
    command = shlex.join(kamailio_command(files.cfg, run_dir))
    print(f"wrote {files.cfg}")
    print(f"wrote {files.dispatcher_list}")
    print()
    print(f"start Kamailio (foreground, logs on stderr; {run_dir} holds its runtime files):")
    print(f"  {command}")
    print(f"point the phones at {reach} (REGISTER and calls)")
    if snippet:
        print()
        print("add to every node's pjsip.conf:")
        print(snippet)
    return 0
