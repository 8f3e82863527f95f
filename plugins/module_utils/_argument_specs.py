"""The modules' shared argument specs (Ansible-facing: documented in the doc fragments of the same names).

Environment fallbacks use Ansible's ``env_fallback``, so a secret that comes from the environment is
masked in output like one given as an option. This is the only ``module_utils`` file that speaks
Ansible's argument-spec dialect; the engine takes plain mappings. It imports neither pymongo nor boto3, so a
module pays only for the client libraries it uses (boto3 alone takes about 0.2 s to import).
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ansible.module_utils.basic import env_fallback

from ansible_collections.offsite.mongodb.plugins.module_utils.retention import RULES
from ansible_collections.offsite.mongodb.plugins.module_utils.storage_options import (
    ENCRYPTION_MODES,
    LOCK_MODES,
)

Spec = Dict[str, Dict[str, Any]]

# Option -> the environment variable the MongoDB modules read when the option is not set (AWX credential types).
MONGO_ENVIRONMENT: Dict[str, str] = {
    "uri": "OFFSITE_MONGODB_URI",
    "login_host": "OFFSITE_MONGODB_HOST",
    "login_port": "OFFSITE_MONGODB_PORT",
    "login_user": "OFFSITE_MONGODB_USER",
    "login_password": "OFFSITE_MONGODB_PASSWORD",
    "login_database": "OFFSITE_MONGODB_AUTH_DATABASE",
}

# Option -> the environment variables the S3 modules read (in order) when it is not set, as the AWS tools do.
S3_ENVIRONMENT: Dict[str, Tuple[str, ...]] = {
    "endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "access_key": ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"),
    "secret_key": ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"),
    "session_token": ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"),
    "profile": ("AWS_PROFILE",),
    "ca_bundle": ("AWS_CA_BUNDLE",),
}


def _with_fallbacks(spec: Spec, variables: Dict[str, Any]) -> Spec:
    for name, names in variables.items():
        spec[name]["fallback"] = (env_fallback, [names] if isinstance(names, str) else list(names))
    return spec


MONGO_CONNECTION: Spec = _with_fallbacks(
    {
        "uri": {"type": "str", "no_log": True},
        "login_host": {"type": "str"},
        "login_port": {"type": "int"},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True},
        "login_database": {"type": "str"},
        "replica_set": {"type": "str"},
        "direct_connection": {"type": "bool"},
        "tls": {"type": "bool"},
        "tls_ca_file": {"type": "path"},
        "tls_certificate_key_file": {"type": "path"},
        "tls_allow_invalid_hostnames": {"type": "bool"},
        "connect_timeout": {"type": "int", "default": 10},
    },
    MONGO_ENVIRONMENT,
)
MONGO_MUTUALLY_EXCLUSIVE: List[List[str]] = [["uri", "login_host"], ["uri", "login_port"]]

S3_CONNECTION: Spec = _with_fallbacks(
    {
        "prefix": {"type": "str", "default": "mongodb-backups"},
        "endpoint_url": {"type": "str"},
        "region": {"type": "str"},
        "access_key": {"type": "str", "no_log": True},
        "secret_key": {"type": "str", "no_log": True},
        "session_token": {"type": "str", "no_log": True},
        "profile": {"type": "str"},
        "validate_certs": {"type": "bool", "default": True},
        "ca_bundle": {"type": "path"},
        "path_style": {"type": "bool"},
        "retries": {"type": "int", "default": 5},
        "retry_mode": {"type": "str", "default": "standard", "choices": ["standard", "adaptive", "legacy"]},
        "connect_timeout": {"type": "int", "default": 10},
        "expected_bucket_owner": {"type": "str"},
    },
    S3_ENVIRONMENT,
)

# How a module that writes to the catalog stores objects and transfers them.
CATALOG_STORAGE: Spec = {
    "encryption": {"type": "str", "choices": list(ENCRYPTION_MODES)},
    "kms_key_id": {"type": "str"},
    "storage_class": {"type": "str"},
    "tags": {"type": "dict"},
    "object_lock_mode": {"type": "str", "choices": list(LOCK_MODES)},
    "object_lock_days": {"type": "int"},
    "part_size": {"type": "bytes", "default": "8MB"},
    "max_concurrency": {"type": "int", "default": 8},
}

# The retention rules: s3_backup_archive's prune and put, and mongo_dump_archive's streamed backups.
RETENTION: Spec = {**{rule: {"type": "int"} for rule in RULES}, "keep_within": {"type": "str"}}
