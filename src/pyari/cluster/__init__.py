"""pyari as a cluster of nodes (issue #14, docs/cluster.md, decision 0025).

Nodes share one NATS server (or cluster) with JetStream: membership and
resource ownership live in key-value buckets, REST requests for another node's
resources travel as NATS requests, applications' events reach the node that
holds the application's socket.  Kamailio, in front, spreads SIP calls over the
nodes (:mod:`pyari.cluster.kamailio`).

Nothing here is imported unless ``cluster.conf`` enables the cluster (or a
Kamailio configuration is asked for); the NATS parts need the ``cluster``
extra (``nats-py``).
"""
