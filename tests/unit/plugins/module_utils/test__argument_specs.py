"""The shared argument specs, run through Ansible's own validator: environment fallbacks and masked secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    CATALOG_STORAGE,
    MONGO_CONNECTION,
    MONGO_MUTUALLY_EXCLUSIVE,
    S3_CONNECTION,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import connection_options
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_connection import s3_options

ACCESS = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE", "AWS_PROFILE",
)  # fmt: skip


def validated(spec, params, **kwargs):
    result = ArgumentSpecValidator(spec, **kwargs).validate(params)
    assert result.error_messages == []
    return result


@pytest.fixture
def clean_environment(monkeypatch):
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("URI", "HOST", "PORT", "USER", "PASSWORD", "AUTH_DATABASE"):
        monkeypatch.delenv(f"OFFSITE_MONGODB_{name}", raising=False)
    return monkeypatch


def test_s3_options_left_unset_come_from_the_aws_variables(clean_environment):
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": "token-value",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ENDPOINT_URL": "https://minio.example.com",
        "AWS_CA_BUNDLE": "/etc/ca.pem",
        "AWS_PROFILE": "backup",
    }
    for name, value in env.items():
        clean_environment.setenv(name, value)
    result = validated(S3_CONNECTION, {})
    options = s3_options(result.validated_parameters)
    assert (options.access_key, options.secret_key, options.session_token) == (ACCESS, SECRET, "token-value")
    assert (options.region, options.endpoint_url, options.profile) == (
        "eu-central-1", "https://minio.example.com", "backup",
    )  # fmt: skip
    assert options.ca_bundle == "/etc/ca.pem"
    assert {ACCESS, SECRET, "token-value"} <= result._no_log_values  # masked like options given in the task


def test_options_in_the_task_win_and_the_first_variable_of_a_pair_wins(clean_environment):
    clean_environment.setenv("AWS_REGION", "ap-south-1")
    clean_environment.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    clean_environment.setenv("AWS_ACCESS_KEY", "A" * 20)
    assert validated(S3_CONNECTION, {}).validated_parameters["region"] == "ap-south-1"
    params = validated(S3_CONNECTION, {"region": "us-west-2"}).validated_parameters
    assert params["region"] == "us-west-2"
    assert params["access_key"] == "A" * 20  # the older name still works


def test_mongo_options_left_unset_come_from_the_offsite_variables(clean_environment):
    clean_environment.setenv("OFFSITE_MONGODB_HOST", "db9")
    clean_environment.setenv("OFFSITE_MONGODB_PORT", "27018")
    clean_environment.setenv("OFFSITE_MONGODB_USER", "u")
    clean_environment.setenv("OFFSITE_MONGODB_PASSWORD", "hunter2")
    result = validated(MONGO_CONNECTION, {"login_host": "db1"}, mutually_exclusive=MONGO_MUTUALLY_EXCLUSIVE)
    options = connection_options(result.validated_parameters)
    assert (options.host, options.port, options.user, options.password) == ("db1", 27018, "u", "hunter2")
    assert "hunter2" in result._no_log_values


def test_uri_and_login_host_are_mutually_exclusive(clean_environment):
    result = ArgumentSpecValidator(MONGO_CONNECTION, mutually_exclusive=MONGO_MUTUALLY_EXCLUSIVE).validate(
        {"uri": "mongodb://db1", "login_host": "db2"}
    )
    assert "mutually exclusive" in " ".join(result.error_messages)


def test_storage_choices_are_enforced():
    result = ArgumentSpecValidator(CATALOG_STORAGE).validate({"encryption": "rot13"})
    assert "encryption" in " ".join(result.error_messages)
    params = validated(CATALOG_STORAGE, {"part_size": "16MB"}).validated_parameters
    assert params["part_size"] == 16 * 1024 * 1024 and params["max_concurrency"] == 8


def test_the_specs_import_no_client_library():
    """mongo_node_info and mongo_fsync_lock never load boto3 (about 0.2 s per task), the S3 modules never pymongo."""
    probe = (
        "import sys; import ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs; "
        "print(sorted(name for name in ('boto3', 'botocore', 'pymongo', 'bson') if name in sys.modules))"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=environment
    )
    assert found.stdout.strip() == "[]"
