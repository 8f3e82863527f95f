"""The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as MongoDB runs it over saslStart/saslContinue.

Stored credentials are MongoDB's: ``{iterationCount, salt, storedKey, serverKey}`` (base64) under
``credentials["SCRAM-SHA-256"]`` of a ``system.users`` document (manual, "SCRAM"; "system.users
Collection"); the password is SASLprep'd first (RFC 4013, via pymongo's ``saslprep``). The
conversation: client-first ``n,,n=<user>,r=<nonce>``, server-first ``r=<nonce>,s=<salt>,i=<n>``,
client-final ``c=biws,r=<nonce>,p=<proof>``, server-final ``v=<signature>``; with
``options.skipEmptyExchange`` the server says ``done: true`` with its final message (MongoDB 4.4+,
DRIVERS-707).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Dict, Optional

from pymongo.saslprep import saslprep

ITERATIONS = 15000  # MongoDB's default scramSHA256IterationCount
MECHANISM = "SCRAM-SHA-256"


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def make_credentials(
    password: str, iterations: int = ITERATIONS, salt: Optional[bytes] = None
) -> Dict[str, object]:
    """The ``SCRAM-SHA-256`` credential document for a new password (a random salt unless given)."""
    salt = salt or os.urandom(28)
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password).encode(), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    return {
        "iterationCount": iterations,
        "salt": base64.b64encode(salt).decode(),
        "storedKey": base64.b64encode(hashlib.sha256(client_key).digest()).decode(),
        "serverKey": base64.b64encode(_hmac(salted, b"Server Key")).decode(),
    }


def _fields(message: str) -> Dict[str, str]:
    return dict(part.split("=", 1) for part in message.split(",") if "=" in part)


def client_user(client_first: str) -> str:
    """The user name of a client-first message (``=2C`` and ``=3D`` unescaped)."""
    if not client_first.startswith("n,"):
        raise ValueError("channel binding is not supported")
    bare = client_first.split(",", 2)[2]
    return _fields(bare).get("n", "").replace("=2C", ",").replace("=3D", "=")


@dataclass
class Conversation:
    """One login in progress: built from the client-first message and the user's credentials."""

    client_first_bare: str
    server_first: str
    nonce: str
    stored_key: bytes
    server_key: bytes

    @classmethod
    def start(cls, client_first: str, credentials: Dict[str, object], server_nonce: str = "") -> Conversation:
        bare = client_first.split(",", 2)[2]
        nonce = _fields(bare)["r"] + (server_nonce or base64.b64encode(os.urandom(24)).decode())
        server_first = f"r={nonce},s={credentials['salt']},i={credentials['iterationCount']}"
        return cls(
            bare,
            server_first,
            nonce,
            base64.b64decode(str(credentials["storedKey"])),
            base64.b64decode(str(credentials["serverKey"])),
        )

    def finish(self, client_final: str) -> Optional[str]:
        """The server-final message if the proof is right, else ``None``."""
        fields = _fields(client_final)
        if fields.get("r") != self.nonce or "p" not in fields:
            return None
        without_proof = client_final[: client_final.rindex(",p=")]
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        signature = _hmac(self.stored_key, auth_message)
        proof = base64.b64decode(fields["p"])
        if len(proof) != len(signature):
            return None
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.stored_key):
            return None
        return "v=" + base64.b64encode(_hmac(self.server_key, auth_message)).decode()
