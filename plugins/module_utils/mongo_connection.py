"""MongoDB connections: module options -> ``MongoClient``, and pymongo failures -> one-line errors.

Every MongoDB module shares ``_argument_specs.MONGO_CONNECTION`` (documented once in the
``offsite.mongodb.mongo`` doc fragment). Options left unset fall back to ``OFFSITE_MONGODB_*``
environment variables, so AWX credentials can inject them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import ssl
import sys
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Mapping, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

try:
    import pymongo
    from pymongo import errors as pymongo_errors

    PYMONGO_IMPORT_ERROR: Optional[str] = None
except ImportError as exc:  # pragma: no cover - exercised on hosts without pymongo
    pymongo = None
    pymongo_errors = None
    PYMONGO_IMPORT_ERROR = str(exc)

CONNECTION_OPTIONS = (
    "uri", "login_host", "login_port", "login_user", "login_password", "login_database", "replica_set",
    "direct_connection", "tls", "tls_ca_file", "tls_certificate_key_file", "tls_allow_invalid_hostnames",
    "connect_timeout",
)  # fmt: skip

UNAUTHORIZED = 13
AUTHENTICATION_FAILED = 18


@dataclass(frozen=True)
class ConnectionOptions:
    """Where and how to connect; built by ``connection_options`` from module parameters."""

    uri: Optional[str] = None
    host: str = "localhost"
    port: int = 27017
    user: Optional[str] = None
    password: Optional[str] = None
    auth_database: str = "admin"
    replica_set: Optional[str] = None
    direct_connection: Optional[bool] = None
    tls: Optional[bool] = None
    tls_ca_file: Optional[str] = None
    tls_certificate_key_file: Optional[str] = None
    tls_allow_invalid_hostnames: Optional[bool] = None
    connect_timeout: int = 10

    def safe_address(self) -> str:
        """Where this connects, without credentials (safe for messages)."""
        if self.uri:
            scheme, rest = self.uri.split("://", 1)
            hosts = rest.rsplit("@", 1)[-1].split("/", 1)[0]
            return f"{scheme}://{hosts}"
        return f"{self.host}:{self.port}"

    def client_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for ``MongoClient`` (secrets included: never log them)."""
        timeout_ms = self.connect_timeout * 1000
        kwargs: Dict[str, Any] = {
            "connectTimeoutMS": timeout_ms,
            "serverSelectionTimeoutMS": timeout_ms,
            "appname": "offsite.mongodb",
        }
        if self.uri:
            kwargs["host"] = self.uri
        else:
            kwargs.update(host=self.host, port=self.port)
            if self.direct_connection is None and not self.replica_set:
                kwargs["directConnection"] = True  # act on the named node, not on the set's primary
        optional = {
            "username": self.user,
            "password": self.password,
            "replicaSet": self.replica_set,
            "directConnection": self.direct_connection,
            "tls": self.tls,
            "tlsCAFile": self.tls_ca_file,
            "tlsCertificateKeyFile": self.tls_certificate_key_file,
            "tlsAllowInvalidHostnames": self.tls_allow_invalid_hostnames,
        }
        kwargs.update({key: value for key, value in optional.items() if value is not None})
        if self.user and (not self.uri or "authSource" not in self.uri):
            kwargs["authSource"] = self.auth_database
        return kwargs


def connection_options(params: Mapping[str, Any]) -> ConnectionOptions:
    """Module parameters -> validated ``ConnectionOptions`` (one-line errors that name the option)."""
    values = {name: params.get(name) for name in CONNECTION_OPTIONS}
    uri = values["uri"]
    if uri and not str(uri).startswith(("mongodb://", "mongodb+srv://")):
        raise OffsiteError("uri must start with mongodb:// or mongodb+srv://: fix the uri option")
    if uri and (values["login_host"] or values["login_port"]):
        raise OffsiteError("set either uri or login_host/login_port, not both")
    port = values["login_port"] or 27017
    try:
        port = int(port)
    except ValueError:
        raise OffsiteError(f"login_port must be a number, got {port!r}") from None
    if not 0 < port < 65536:
        raise OffsiteError(f"login_port must be between 1 and 65535, got {port}")
    if values["login_password"] and not values["login_user"]:
        raise OffsiteError("login_password is set but login_user is not: set login_user too")
    timeout = values["connect_timeout"] if values["connect_timeout"] is not None else 10
    if not 0 < int(timeout) <= 3600:
        raise OffsiteError(f"connect_timeout must be between 1 and 3600 seconds, got {timeout}")
    for option in ("tls_ca_file", "tls_certificate_key_file"):
        path = values[option]
        if path and not (os.path.isfile(path) and os.access(path, os.R_OK)):
            raise OffsiteError(f"{option} {path!r} is not a readable file: fix the path or remove the option")
    return ConnectionOptions(
        uri=uri or None,
        host=values["login_host"] or "localhost",
        port=port,
        user=values["login_user"] or None,
        password=values["login_password"] or None,
        auth_database=values["login_database"] or "admin",
        replica_set=values["replica_set"],
        direct_connection=values["direct_connection"],
        tls=values["tls"],
        tls_ca_file=values["tls_ca_file"],
        tls_certificate_key_file=values["tls_certificate_key_file"],
        tls_allow_invalid_hostnames=values["tls_allow_invalid_hostnames"],
        connect_timeout=int(timeout),
    )


def require_pymongo() -> None:
    """Raise a one-line error when pymongo is missing on the host that runs the module."""
    if PYMONGO_IMPORT_ERROR is not None:
        raise OffsiteError(
            "the Python library pymongo is not installed for the interpreter that runs this module: "
            "pip install pymongo (or set ansible_python_interpreter)"
        )


def connect(options: ConnectionOptions) -> pymongo.MongoClient:
    """An authenticated client that has reached the server (errors become ``OffsiteError``)."""
    require_pymongo()
    with mongo_errors(options, "connect"):
        try:
            client = pymongo.MongoClient(**options.client_kwargs())
        except ssl.SSLError as exc:
            raise OffsiteError(
                f"the TLS files cannot be used ({exc.reason or exc}): check that tls_ca_file and "
                "tls_certificate_key_file are PEM files"
            ) from None
        except (pymongo_errors.ConfigurationError, ValueError, TypeError) as exc:
            problem = " ".join(str(exc).split())
            for secret in (options.password, options.uri):
                if secret:
                    problem = problem.replace(secret, "********")
            raise OffsiteError(
                f"invalid MongoDB connection settings ({problem}): fix uri or the login_* options"
            ) from None
        try:
            client.admin.command("ping")
        except BaseException:
            client.close()
            raise
    exit_without_joining_monitors()
    return client


def exit_without_joining_monitors() -> bool:
    """Let the process exit as soon as its work is done instead of up to 0.5 s later.

    pymongo's exit hook joins every monitor thread, and an idle monitor only looks up from
    ``time.sleep(0.5)`` between checks, so each module that used a client waited about half a second
    after printing its result. The monitors are daemon threads in the main interpreter and the clients
    are closed (or abandoned) by then, so the join guards nothing. Subinterpreters run the monitors on
    non-daemon threads, which must be joined: the hook stays there. Returns whether it was removed.
    """
    if getattr(threading, "_daemon_threads_allowed", lambda: True)() is False:
        return False
    monitor = sys.modules.get("pymongo.synchronous.monitor") or sys.modules.get("pymongo.monitor")
    hook = getattr(monitor, "_shutdown_resources", None)
    if hook is None:
        return False
    atexit.unregister(hook)
    return True


@contextlib.contextmanager
def mongo_errors(options: ConnectionOptions, action: str) -> Iterator[None]:
    """Turn pymongo's failures during ``action`` into one-line ``OffsiteError``s that name the fix."""
    try:
        yield
    except OffsiteError:
        raise
    except Exception as exc:
        if pymongo_errors is None or not isinstance(exc, pymongo_errors.PyMongoError):
            raise
        raise OffsiteError(describe_error(options, action, exc)) from None


def describe_error(options: ConnectionOptions, action: str, exc: Exception) -> str:
    """The one-line message for a pymongo error (never includes secrets)."""
    where = options.safe_address()
    code = getattr(exc, "code", None)
    if code == AUTHENTICATION_FAILED or isinstance(exc, getattr(pymongo_errors, "AuthenticationFailed", ())):
        return (
            f"authentication failed for user {options.user!r} on database {options.auth_database!r} at {where}: "
            "check login_user, login_password and login_database (or the credentials in uri)"
        )
    if code == UNAUTHORIZED:
        return (
            f"user {options.user or '(none)'} is not allowed to {action} on {where}: "
            "grant it the needed role (fsync lock needs clusterManager or hostManager; "
            "backup and restore need the backup and restore roles)"
        )
    if isinstance(exc, (pymongo_errors.ServerSelectionTimeoutError, pymongo_errors.ConnectionFailure)):
        return (
            f"cannot reach MongoDB at {where} within {options.connect_timeout} s: check login_host, "
            "login_port (or uri), tls settings, and that mongod is running and reachable"
        )
    return f"MongoDB failed to {action} at {where}: {server_message(exc)}"


def server_message(exc: BaseException) -> str:
    """The server's own ``errmsg`` of a failure (or the exception's text), on one line."""
    details = getattr(exc, "details", None) or {}
    return " ".join(str(details.get("errmsg") or exc).split())
