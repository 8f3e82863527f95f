# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every MongoDB module of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - A MongoDB connection string, C(mongodb://) or C(mongodb+srv://). It may carry credentials, so it is never logged.
      - Mutually exclusive with O(login_host) and O(login_port).
      - When not set, the environment variable E(OFFSITE_MONGODB_URI) is used.
    type: str
  login_host:
    description:
      - The host to connect to. Defaults to C(localhost), since the modules run on the database hosts.
      - When not set, the environment variable E(OFFSITE_MONGODB_HOST) is used.
    type: str
  login_port:
    description:
      - The port to connect to. Defaults to C(27017).
      - When not set, the environment variable E(OFFSITE_MONGODB_PORT) is used.
    type: int
  login_user:
    description:
      - The user to authenticate as. Without it the connection is not authenticated.
      - When not set, the environment variable E(OFFSITE_MONGODB_USER) is used.
    type: str
  login_password:
    description:
      - The password of O(login_user). Never logged.
      - When not set, the environment variable E(OFFSITE_MONGODB_PASSWORD) is used.
    type: str
  login_database:
    description:
      - The authentication database of O(login_user). Defaults to C(admin).
      - When not set, the environment variable E(OFFSITE_MONGODB_AUTH_DATABASE) is used.
    type: str
  replica_set:
    description:
      - The replica set name. When set, the client discovers the set; when neither this nor O(direct_connection)
        is set, the module talks directly to the named host (usually what a task on a database host wants).
    type: str
  direct_connection:
    description:
      - Connect to the named host only, without discovering the rest of the deployment.
      - When unset, a connection without O(replica_set) and without O(uri) is direct.
    type: bool
  tls:
    description:
      - Use TLS for the connection.
    type: bool
  tls_ca_file:
    description:
      - A file of certificate authorities to verify the server's certificate.
    type: path
  tls_certificate_key_file:
    description:
      - A file holding the client certificate and its private key, for x.509 or mutual TLS.
    type: path
  tls_allow_invalid_hostnames:
    description:
      - Accept a server certificate whose host name does not match. For test systems only.
    type: bool
  connect_timeout:
    description:
      - Seconds to wait for the server to answer before failing with a clear error.
    type: int
    default: 10
requirements:
  - Python >= 3.9 on the host that runs the module
  - pymongo >= 4.6 on the host that runs the module
notes:
  - The role C(offsite.mongodb.python_env) installs the Python libraries these modules need into a virtual
    environment on the managed hosts when C(offsite_mongodb_python_venv) is set.
  - Connection failures, failed authentication and missing privileges each fail with a one-line message that
    says what to fix. Credentials never appear in results or messages.
"""
