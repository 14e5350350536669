"""A Google service-account key made for a test, and the check of the token requests it signs.

rclone trades a key for an access token by POSTing a JWT signed with the key's private half to the
key's ``token_uri``; pointed at an :class:`~tests.support.servers.HttpSink` on 127.0.0.1, that exchange
shows the key rclone used was the one the test gave it.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TOKEN_RESPONSE = b'{"access_token": "test-access-token", "token_type": "Bearer", "expires_in": 3600}'


class ServiceAccount:
    def __init__(self, token_uri: str, email: str = "batch@odahu-test.iam.gserviceaccount.com") -> None:
        self.token_uri = token_uri
        self.email = email
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def key_json(self) -> str:
        """The key file as GCP hands it out (the fields rclone's Google client reads)."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return json.dumps({
            "type": "service_account",
            "project_id": "odahu-test",
            "private_key_id": "test-key-1",
            "private_key": pem,
            "client_email": self.email,
            "client_id": "1",
            "token_uri": self.token_uri,
        })  # fmt: skip

    def claims(self, form_body: bytes) -> dict[str, Any]:
        """The claims of a token request's JWT, after checking it is signed with this key (RS256)."""
        assertion = parse_qs(form_body.decode())["assertion"][0]
        header, payload, signature = assertion.split(".")
        self._key.public_key().verify(
            _unb64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        assert json.loads(_unb64(header))["alg"] == "RS256"
        claims: dict[str, Any] = json.loads(_unb64(payload))
        return claims


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
