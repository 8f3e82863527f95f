"""Connection options -> MongoClient arguments, and pymongo failures -> one-line error messages."""

from __future__ import annotations

import atexit

import pytest
from pymongo import errors

from ansible_collections.offsite.mongodb.plugins.module_utils import mongo_connection
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import (
    ConnectionOptions,
    connection_options,
    describe_error,
)


def test_defaults_connect_directly_to_localhost():
    options = connection_options({})
    kwargs = options.client_kwargs()
    assert (kwargs["host"], kwargs["port"], kwargs["directConnection"]) == ("localhost", 27017, True)
    assert "username" not in kwargs
    assert kwargs["serverSelectionTimeoutMS"] == 10000


def test_replica_set_discovers_and_credentials_use_the_auth_database():
    params = {"login_host": "db1", "login_user": "backup", "login_password": "pw", "replica_set": "rs0"}
    kwargs = connection_options({**params, "login_database": "ops"}).client_kwargs()
    assert "directConnection" not in kwargs
    assert (kwargs["replicaSet"], kwargs["username"], kwargs["authSource"]) == ("rs0", "backup", "ops")


def test_tls_files_must_exist_and_be_readable(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    options = connection_options({"tls": True, "tls_ca_file": str(ca)})
    assert options.client_kwargs()["tlsCAFile"] == str(ca)
    with pytest.raises(OffsiteError, match=r"tls_certificate_key_file .*missing.pem' is not a readable file"):
        connection_options({"tls": True, "tls_certificate_key_file": str(tmp_path / "missing.pem")})
    with pytest.raises(OffsiteError, match=r"tls_ca_file .* is not a readable file"):
        connection_options({"tls": True, "tls_ca_file": str(tmp_path)})  # a directory


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"uri": "http://x"}, "uri must start with mongodb:// or mongodb+srv://"),
        ({"uri": "mongodb://a", "login_host": "b"}, "set either uri or login_host/login_port, not both"),
        ({"login_port": 70000}, "login_port must be between 1 and 65535, got 70000"),
        ({"login_password": "pw"}, "login_password is set but login_user is not"),
        ({"connect_timeout": 0}, "connect_timeout must be between 1 and 3600 seconds, got 0"),
        ({"login_port": "x"}, "login_port must be a number, got 'x'"),
    ],
)
def test_bad_options_fail_with_the_fix(params, message):
    with pytest.raises(OffsiteError, match=message.split(":")[0]) as caught:
        connection_options(params)
    assert message in str(caught.value)


def test_describe_never_shows_credentials():
    options = ConnectionOptions(uri="mongodb://backup:hunter2@db1:27017,db2:27017/admin?replicaSet=rs0")
    assert options.safe_address() == "mongodb://db1:27017,db2:27017"
    failure = errors.OperationFailure("Authentication failed.", code=18)
    message = describe_error(options, "connect", failure)
    assert "hunter2" not in message
    assert message.startswith("authentication failed")


def test_error_messages_name_the_fix():
    options = ConnectionOptions(user="backup")
    denied = describe_error(
        options, "take the fsync lock", errors.OperationFailure("not authorized", code=13)
    )
    assert "grant it the needed role" in denied
    timeout = describe_error(options, "connect", errors.ServerSelectionTimeoutError("x"))
    assert timeout.startswith("cannot reach MongoDB at localhost:27017 within 10 s")
    other = describe_error(
        options, "dump", errors.OperationFailure("boom\nmore", code=2, details={"errmsg": "boom"})
    )
    assert other == "MongoDB failed to dump at localhost:27017: boom"


def test_the_pymongo_exit_hook_that_joins_idle_monitors_is_found_and_removed(monkeypatch):
    """A tripwire: if pymongo renames its exit hook, every module would again exit up to 0.5 s late."""
    removed = []
    monkeypatch.setattr(atexit, "unregister", removed.append)
    assert mongo_connection.exit_without_joining_monitors() is True
    assert [hook.__name__ for hook in removed] == ["_shutdown_resources"]
