"""S3 connections: module options -> boto3 client, and S3 failures -> one-line errors without secrets.

Every S3 module shares ``_argument_specs.S3_CONNECTION`` (documented once in the ``offsite.mongodb.s3``
doc fragment). Options left unset fall back to the environment variables the AWS tools read.

boto3 is imported when the first client is made, not with this file: a module that never talks to S3
(a dump to a local file, taken under a lock) does not spend boto3's 0.2 s import while writes are held.
"""

from __future__ import annotations

import contextlib
import re
import sys
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

CONNECTION_OPTIONS = (
    "endpoint_url", "region", "access_key", "secret_key", "session_token", "profile", "validate_certs",
    "ca_bundle", "path_style", "retries", "retry_mode", "connect_timeout",
)  # fmt: skip

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
CREDENTIAL_ERRORS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
}
DENIED_ERRORS = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden", "AccountProblem"}
REGION_ERRORS = {
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
    "301",
}
MISSING_KEY_ERRORS = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class S3Options:
    """Where and how to reach S3; built by ``s3_options`` from module parameters."""

    endpoint_url: Optional[str] = None
    region: Optional[str] = None
    access_key: Optional[str] = None
    secret_key: Optional[str] = None
    session_token: Optional[str] = None
    profile: Optional[str] = None
    validate_certs: bool = True
    ca_bundle: Optional[str] = None
    path_style: Optional[bool] = None
    retries: int = 5
    retry_mode: str = "standard"
    connect_timeout: int = 10

    def secrets(self) -> Tuple[str, ...]:
        """Values that must never appear in a message."""
        return tuple(value for value in (self.access_key, self.secret_key, self.session_token) if value)

    def addressing_style(self) -> str:
        """``path`` or ``virtual``: path style by default for custom endpoints (MinIO, Ceph), virtual for AWS."""
        path = self.path_style if self.path_style is not None else bool(self.endpoint_url)
        return "path" if path else "virtual"


def s3_options(params: Mapping[str, Any]) -> S3Options:
    """Module parameters -> validated ``S3Options`` (one-line errors that name the option)."""
    values = {name: params.get(name) for name in CONNECTION_OPTIONS}
    if bool(values["access_key"]) != bool(values["secret_key"]):
        raise OffsiteError(
            "set access_key and secret_key together (or neither, to use a profile or the instance role)"
        )
    if values["session_token"] and not values["access_key"]:
        raise OffsiteError("session_token needs access_key and secret_key: set them too")
    endpoint = values["endpoint_url"]
    if endpoint and not str(endpoint).startswith(("http://", "https://")):
        raise OffsiteError(f"endpoint_url {endpoint!r} must start with http:// or https://")
    retries = 5 if values["retries"] is None else int(values["retries"])
    if not 0 <= retries <= 50:
        raise OffsiteError(f"retries must be between 0 and 50, got {retries}")
    timeout = 10 if values["connect_timeout"] is None else int(values["connect_timeout"])
    if not 0 < timeout <= 3600:
        raise OffsiteError(f"connect_timeout must be between 1 and 3600 seconds, got {timeout}")
    return S3Options(
        endpoint_url=endpoint or None,
        region=values["region"] or None,
        access_key=values["access_key"] or None,
        secret_key=values["secret_key"] or None,
        session_token=values["session_token"] or None,
        profile=values["profile"] or None,
        validate_certs=True if values["validate_certs"] is None else bool(values["validate_certs"]),
        ca_bundle=values["ca_bundle"] or None,
        path_style=values["path_style"],
        retries=retries,
        retry_mode=values["retry_mode"] or "standard",
        connect_timeout=timeout,
    )


def check_bucket_name(bucket: str) -> str:
    """``bucket`` when it is a valid S3 bucket name, else a one-line error that says the rule."""
    name = str(bucket or "")
    if not BUCKET_NAME.match(name) or ".." in name or IP_ADDRESS.match(name):
        raise OffsiteError(
            f"bucket {name!r} is not a valid S3 bucket name: use 3-63 lowercase letters, digits, '.' or '-', "
            "starting and ending with a letter or digit"
        )
    return name


def boto() -> Tuple[Any, Any, Any]:
    """(boto3, botocore's exceptions, botocore's ``Config``), imported on first use; a one-line error without boto3."""
    try:
        import boto3  # noqa: PLC0415 - see the module docstring
        from botocore import exceptions  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415
    except ImportError:  # pragma: no cover - exercised on hosts without boto3
        raise OffsiteError(
            "the Python library boto3 is not installed for the interpreter that runs this module: "
            "pip install boto3 (or set ansible_python_interpreter)"
        ) from None
    return boto3, exceptions, Config


def make_client(options: S3Options, max_pool_connections: int = 10) -> Any:
    """A boto3 S3 client for ``options`` (retries, addressing style, TLS and credentials applied)."""
    boto3, errors, config_class = boto()
    config = config_class(
        retries={"mode": options.retry_mode, "max_attempts": options.retries},
        s3={"addressing_style": options.addressing_style()},
        connect_timeout=options.connect_timeout,
        read_timeout=max(60, options.connect_timeout),
        max_pool_connections=max(10, max_pool_connections),
        user_agent_extra="offsite.mongodb",
    )
    verify: Any = (options.ca_bundle or None) if options.validate_certs else False
    try:
        session = boto3.session.Session(
            profile_name=options.profile,
            aws_access_key_id=options.access_key,
            aws_secret_access_key=options.secret_key,
            aws_session_token=options.session_token,
            region_name=options.region,
        )
        return session.client("s3", endpoint_url=options.endpoint_url, verify=verify, config=config)
    except errors.ProfileNotFound:
        raise OffsiteError(
            f"AWS profile {options.profile!r} is not configured: fix the profile option or ~/.aws/config"
        ) from None
    except errors.BotoCoreError as exc:
        raise OffsiteError(redact(f"cannot set up the S3 client: {exc}", options.secrets())) from None


def where(client: Any) -> str:
    """The endpoint a client talks to (no credentials), for messages."""
    meta = getattr(client, "meta", None)
    endpoint = getattr(meta, "endpoint_url", None) or "S3"
    region = getattr(meta, "region_name", None)
    return f"{endpoint} (region {region})" if region else str(endpoint)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` on one line with every secret value replaced by ``********``."""
    line = " ".join(str(text).split())
    for secret in secrets:
        if secret and len(secret) >= 4:
            line = line.replace(secret, "********")
    return line


@contextlib.contextmanager
def s3_errors(
    client: Any, action: str, bucket: str, key: Optional[str] = None, secrets: Sequence[str] = ()
) -> Iterator[None]:
    """Turn boto3/botocore failures during ``action`` into one-line ``OffsiteError``s that name the fix."""
    try:
        yield
    except OffsiteError:
        raise
    except Exception as exc:
        errors = sys.modules.get("botocore.exceptions")  # not imported yet: no botocore error can exist
        if errors is None or not isinstance(exc, (errors.BotoCoreError, errors.ClientError)):
            raise
        raise OffsiteError(redact(describe_error(client, action, bucket, key, exc), secrets)) from None


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ``ClientError`` (or its HTTP status when S3 sent no body), else ``''``."""
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    if code:
        return str(code)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(status or "")


def describe_error(  # noqa: PLR0911 - one message per failure kind
    client: Any, action: str, bucket: str, key: Optional[str], exc: BaseException
) -> str:
    """The one-line message for a botocore failure (callers redact it)."""
    at = where(client)
    errors = boto()[1]
    if isinstance(exc, errors.ClientError):
        return _client_error(at, action, bucket, key, exc)
    if isinstance(exc, errors.NoCredentialsError):
        return (
            "no S3 credentials found: set access_key and secret_key, a profile, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY in the environment"
        )
    if isinstance(exc, errors.SSLError):
        return f"TLS verification of {at} failed: set ca_bundle to the CA that signed its certificate"
    if isinstance(
        exc, (errors.EndpointConnectionError, errors.ConnectTimeoutError, errors.ConnectionClosedError)
    ):
        return (
            f"cannot reach the S3 endpoint {at} to {action}: check endpoint_url, region and that the "
            "endpoint is reachable from this host"
        )
    if isinstance(exc, errors.ReadTimeoutError):
        return f"the S3 endpoint {at} stopped answering while trying to {action}: retry, or raise retries"
    if isinstance(exc, errors.ParamValidationError):
        return f"invalid S3 request to {action}: {exc}"
    return f"S3 failed to {action} in bucket {bucket!r} at {at}: {exc}"


def _client_error(  # noqa: PLR0911 - one message per S3 error family
    at: str, action: str, bucket: str, key: Optional[str], exc: BaseException
) -> str:
    code = error_code(exc)
    response = getattr(exc, "response", {}) or {}
    message = response.get("Error", {}).get("Message") or ""
    if code == "NoSuchBucket":
        return f"bucket {bucket!r} does not exist at {at}: create it, or fix the bucket option (and region)"
    if code == "InvalidBucketName":
        return f"bucket {bucket!r} is not a valid S3 bucket name: fix the bucket option"
    if code in CREDENTIAL_ERRORS:
        return (
            f"{at} rejected the S3 credentials ({code}): check access_key, secret_key and session_token "
            "(or the profile/environment they come from)"
        )
    if code in REGION_ERRORS:
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        region = response.get("Error", {}).get("Region") or headers.get("x-amz-bucket-region")
        hint = (
            f"set region: {region}" if region else "set region to the bucket's region (or fix endpoint_url)"
        )
        return f"bucket {bucket!r} is not in the region this client uses ({at}): {hint}"
    if code in DENIED_ERRORS:
        return (
            f"access denied to {action} in bucket {bucket!r} at {at}: grant the credentials in use the needed "
            "s3: permissions on the bucket and prefix, or fix expected_bucket_owner"
        )
    if code in MISSING_KEY_ERRORS:
        return f"object {key!r} not found in bucket {bucket!r}: it was deleted or never written; list the catalog"
    if code == "InvalidRange":
        return f"object {key!r} is shorter than its manifest records: the object is corrupt; restore another backup"
    if code in ("PreconditionFailed", "412"):
        return (
            f"object {key!r} changed while it was being read: retry, and make sure no one overwrites backups"
        )
    detail = f": {message}" if message else ""
    return f"S3 refused to {action} in bucket {bucket!r} at {at} ({code}{detail})"
