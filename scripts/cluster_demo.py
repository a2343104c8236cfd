"""``make cluster-demo``: nats-server, Kamailio and three pyari nodes on loopback, as one
cluster, until Ctrl+C (``--help`` for the options; docs/cluster.md).

The work is done by :mod:`pyari.cluster.demo` (also ``python -m pyari.cluster.demo``),
which the multi-process acceptance tests and ``bench/cluster.py`` use too.
"""

from __future__ import annotations

import sys

from pyari.cluster.demo import main

if __name__ == "__main__":
    sys.exit(main())
