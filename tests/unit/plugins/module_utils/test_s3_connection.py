"""S3 connection options and one-line error messages without secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ParamValidationError

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_connection import (
    check_bucket_name,
    make_client,
    s3_errors,
    s3_options,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCESS = "AKIAIOSFODNN7EXAMPLE"


def client_error(code, message="", status=400, region=None, key=None):
    error = {"Code": code, "Message": message}
    if region:
        error["Region"] = region
    if key:
        error["Key"] = key
    return ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.fixture
def client():
    return make_client(
        s3_options(
            {
                "endpoint_url": "http://127.0.0.1:9",
                "access_key": ACCESS,
                "secret_key": SECRET,
                "region": "eu-west-1",
            }
        )
    )


def fail(client, exc, action="list the backups", bucket="acme-backups", key=None):
    with pytest.raises(OffsiteError) as info, s3_errors(client, action, bucket, key, (ACCESS, SECRET)):
        raise exc
    message = str(info.value)
    assert "\n" not in message
    assert SECRET not in message
    assert ACCESS not in message
    return message


def test_addressing_style_is_path_for_custom_endpoints_unless_asked():
    assert s3_options({}).addressing_style() == "virtual"
    assert s3_options({"endpoint_url": "https://minio.example.com"}).addressing_style() == "path"
    assert s3_options({"path_style": False, "endpoint_url": "http://h"}).addressing_style() == "virtual"
    assert s3_options({"path_style": True}).addressing_style() == "path"


def test_secrets_are_the_credential_values():
    options = s3_options({"access_key": ACCESS, "secret_key": SECRET, "session_token": "tok"})
    assert options.secrets() == (ACCESS, SECRET, "tok")
    assert s3_options({}).secrets() == ()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"access_key": ACCESS}, "together"),
        ({"session_token": "t"}, "session_token"),
        ({"endpoint_url": "minio:9000"}, "http"),
        ({"retries": -1}, "retries"),
    ],
)
def test_inconsistent_options_are_refused(params, match):
    with pytest.raises(OffsiteError, match=match) as info:
        s3_options(params)
    assert ACCESS not in str(info.value)


def test_client_applies_retries_addressing_and_endpoint(client):
    config = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 6}  # 5 retries after the first try
    assert config.s3["addressing_style"] == "path"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.region_name == "eu-west-1"


def test_unknown_profile_is_one_line():
    with pytest.raises(OffsiteError, match="profile 'no-such-profile-here' is not configured"):
        make_client(s3_options({"profile": "no-such-profile-here"}))


@pytest.mark.parametrize(
    ("bad"),
    ["ab", "Uppercase", "under_score", "-start", "end-", "a..b", "192.168.1.1", "x" * 64],
)
def test_invalid_bucket_names_are_refused_before_any_request(bad):
    with pytest.raises(OffsiteError, match="not a valid S3 bucket name"):
        check_bucket_name(bad)
    assert check_bucket_name("acme-backups.eu") == "acme-backups.eu"


def test_missing_bucket(client):
    message = fail(client, client_error("NoSuchBucket", "The specified bucket does not exist", 404))
    assert message.startswith("bucket 'acme-backups' does not exist")
    assert "create it" in message


def test_access_denied(client):
    message = fail(client, client_error("AccessDenied", f"User {ACCESS} is not authorized", 403))
    assert "access denied to list the backups in bucket 'acme-backups'" in message
    assert fail(client, client_error("403", status=403)).startswith("access denied")


def test_wrong_region_names_the_right_one(client):
    message = fail(client, client_error("AuthorizationHeaderMalformed", "wrong region", region="us-west-2"))
    assert "set region: us-west-2" in message
    assert "region" in fail(client, client_error("PermanentRedirect", status=301))


def test_rejected_credentials(client):
    message = fail(client, client_error("SignatureDoesNotMatch", f"StringToSign for {ACCESS}/{SECRET}", 403))
    assert "rejected the S3 credentials" in message
    assert "secret_key" in message


def test_invalid_bucket_name_from_the_server_and_from_botocore(client):
    assert "not a valid S3 bucket name" in fail(client, client_error("InvalidBucketName"))
    assert "invalid S3 request" in fail(client, ParamValidationError(report="Invalid bucket name"))


def test_unreachable_endpoint_and_missing_credentials(client):
    message = fail(client, EndpointConnectionError(endpoint_url="http://127.0.0.1:9/acme-backups"))
    assert message.startswith("cannot reach the S3 endpoint http://127.0.0.1:9")
    assert "check endpoint_url" in message
    assert "no S3 credentials found" in fail(client, NoCredentialsError())


def test_unknown_errors_keep_the_code_and_are_redacted(client):
    message = fail(client, client_error("SlowDown", f"please slow down {SECRET}", 503))
    assert "SlowDown" in message
    assert "********" in message


def test_a_real_unreachable_endpoint_fails_fast_with_one_line():
    options = s3_options(
        {"endpoint_url": "http://127.0.0.1:9", "access_key": ACCESS, "secret_key": SECRET, "retries": 0}
    )
    client = make_client(options)
    with (
        pytest.raises(OffsiteError) as info,
        s3_errors(client, "list the backups", "acme-backups", None, options.secrets()),
    ):
        client.list_objects_v2(Bucket="acme-backups")
    assert str(info.value).startswith("cannot reach the S3 endpoint http://127.0.0.1:9")


def test_boto3_is_imported_with_the_first_client_not_with_the_dump_or_lock_tasks():
    """A dump to a local file under a lock never loads boto3 (0.2 s while writes are held); an S3 client does."""
    probe = (
        "import sys\n"
        "from ansible_collections.offsite.mongodb.plugins.module_utils._tasks import dump, fsync_lock\n"
        "from ansible_collections.offsite.mongodb.plugins.module_utils import s3_connection\n"
        "before = 'boto3' in sys.modules\n"
        "s3_connection.make_client(s3_connection.s3_options({'region': 'us-east-1'}))\n"
        "print(before, 'boto3' in sys.modules)"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=environment
    )
    assert found.stdout.split() == ["False", "True"]
