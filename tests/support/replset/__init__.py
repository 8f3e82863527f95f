"""A replica-set stand-in for the tests: members on loopback ports sharing one in-memory data set,
with an oplog, fsync lock, applyOps, SCRAM-SHA-256 logins and users/roles (see tests/README.md)."""

from .launcher import DEFAULT_MEMBERS, ReplicaSet, start_replica_set

__all__ = ["DEFAULT_MEMBERS", "ReplicaSet", "start_replica_set"]
