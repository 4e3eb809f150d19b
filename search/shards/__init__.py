"""A build's shards served on several hosts, as Ray Serve deployments
(``PAPERSEARCH_SHARD_SERVICE=ray``).

Each shard of each build is a Serve application of its own (``cluster``), its replicas
(``replica``) placed on the nodes that declare the shard's resource: the hosts that
hold its files. A web server's engine keeps the build's centroids and graph itself and
calls every shard's replicas (``remote``) where it would search its own shards' files:
FAISS lists and keyword indexes, merged as in one process. Ray replaces a replica that
dies; a shard with no replica that answers fails the whole answer with 503
``shard_unavailable``, never a ranking of the other shards alone. A new build's shards
are deployed beside the old build's, shard by shard, and servers switch only once all of
them run: no answer mixes two builds.
"""
