# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every S3 module of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  prefix:
    description:
      - The key prefix under which the catalog lives; backups are stored under C(<prefix>/<set_name>/<backup_id>/).
      - An empty string puts the catalog at the root of the bucket.
    type: str
    default: mongodb-backups
  endpoint_url:
    description:
      - The S3 endpoint, for S3-compatible stores (MinIO, Ceph RGW, Wasabi...), for example C(https://minio.example.com:9000).
      - Unset means Amazon S3 in O(region).
      - When not set, the environment variable E(AWS_ENDPOINT_URL_S3) or E(AWS_ENDPOINT_URL) is used.
    type: str
  region:
    description:
      - The region of the bucket. Amazon S3 answers a request for another region's bucket with an error that names
        the right region.
      - When not set, the environment variable E(AWS_REGION) or E(AWS_DEFAULT_REGION) is used, then the AWS
        configuration files.
    type: str
  access_key:
    description:
      - The access key id. Never logged.
      - When not set, the environment variable E(AWS_ACCESS_KEY_ID) is used, then O(profile), the AWS configuration
        files and the instance or container role, as the AWS tools do.
    type: str
  secret_key:
    description:
      - The secret access key of O(access_key). Never logged.
      - When not set, the environment variable E(AWS_SECRET_ACCESS_KEY) is used.
    type: str
  session_token:
    description:
      - The session token of temporary credentials. Never logged.
      - When not set, the environment variable E(AWS_SESSION_TOKEN) is used.
    type: str
  profile:
    description:
      - A named profile of the AWS configuration files (C(~/.aws/config), C(~/.aws/credentials)).
      - When not set, the environment variable E(AWS_PROFILE) is used.
      - Explicit O(access_key) and O(secret_key) take precedence over the profile's credentials.
    type: str
  validate_certs:
    description:
      - Verify the endpoint's TLS certificate. Turn off only for test systems; prefer O(ca_bundle).
    type: bool
    default: true
  ca_bundle:
    description:
      - A PEM file of certificate authorities to verify the endpoint's certificate (a private CA for MinIO or Ceph).
      - When not set, the environment variable E(AWS_CA_BUNDLE) is used.
    type: path
  path_style:
    description:
      - Address buckets as C(https://endpoint/bucket/key) instead of C(https://bucket.endpoint/key).
      - Unset means path style when O(endpoint_url) is set (what most S3-compatible stores expect) and virtual-hosted
        style for Amazon S3.
    type: bool
  retries:
    description:
      - How many times botocore retries a failed request (throttling, timeouts, 5xx) before the task fails.
    type: int
    default: 5
  retry_mode:
    description:
      - botocore's retry mode.
    type: str
    choices: [standard, adaptive, legacy]
    default: standard
  connect_timeout:
    description:
      - Seconds to wait for a connection to the endpoint.
    type: int
    default: 10
  expected_bucket_owner:
    description:
      - The AWS account id that must own the bucket. Every request carries it, so a bucket taken over by another
        account is refused instead of written to.
    type: str
requirements:
  - Python >= 3.9 on the host that runs the module
  - boto3 >= 1.34 on the host that runs the module
notes:
  - The role C(offsite.mongodb.python_env) installs the Python libraries these modules need into a virtual
    environment on the managed hosts when C(offsite_mongodb_python_venv) is set.
  - An invalid bucket name, a missing bucket, denied access, a wrong region, rejected credentials and an unreachable
    endpoint each fail with a one-line message that says what to fix. Credentials never appear in results, warnings
    or messages.
"""
