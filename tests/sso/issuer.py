"""A second, hand-made OpenID issuer whose signing key the test holds: it answers the portal's code
exchange with whatever ID token the test made, so the portal can be shown tokens no honest
provider issues (tampered, for another client, replayed with another nonce, expired, ...).

It is a real HTTP server on a free port (discovery, JWKS, token endpoint), reached by the
portal's own code as any provider is; the authorization endpoint is never visited: the test reads
the portal's authorization request from its redirect and comes back to the callback itself.
"""

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.sso.provider import CLIENT_ID, CLIENT_SECRET

KID = "test-issuer-1"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class TokenIssuer:
    key: rsa.RSAPrivateKey = field(default_factory=rsa_key)
    tokens: dict[str, str] = field(default_factory=dict)  # code -> the ID token it is exchanged for
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # what the portal sent
    other_keys: list[dict[str, Any]] = field(default_factory=list)  # more keys in the JWKS
    url: str = ""

    def start(self) -> "TokenIssuer":
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/.well-known/openid-configuration":
                    self._json(200, issuer.discovery())
                elif self.path == "/jwks":
                    self._json(200, {"keys": [issuer.public_jwk(), *issuer.other_keys]})
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                basic = self.headers.get("Authorization", "")
                issuer.exchanges.append({"form": form, "authorization": basic})
                if self.path != "/token" or basic != issuer.basic_auth():
                    self._json(401, {"error": "invalid_client"})
                elif form.get("code") not in issuer.tokens:
                    self._json(400, {"error": "invalid_grant"})
                else:
                    id_token = issuer.tokens.pop(form["code"])
                    self._json(
                        200, {"access_token": "at", "token_type": "Bearer", "id_token": id_token}
                    )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def discovery(self) -> dict[str, Any]:
        """Like Entra ID's: the claims are in the ID token, no userinfo endpoint is needed."""
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def public_jwk(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**jwk, "kid": KID, "alg": "RS256", "use": "sig"}

    @staticmethod
    def basic_auth() -> str:
        pair = f"{CLIENT_ID}:{CLIENT_SECRET}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def claims(self, *, nonce: str, **changes: Any) -> dict[str, Any]:
        """erin's ID token claims for this issuer and the portal; a change to None drops a claim."""
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": "erin-at-issuer",
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "preferred_username": "erin",
            "email": "erin@example.com",
            "groups": ["data-approvers"],
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(
        self, claims: dict[str, Any], *, key: Any = None, algorithm: str = "RS256", kid=KID
    ) -> str:
        headers = {"kid": kid} if kid else None
        return jwt.encode(claims, key or self.key, algorithm=algorithm, headers=headers)

    def code_for(self, id_token: str) -> str:
        """A one-time code the token endpoint exchanges for `id_token`."""
        code = secrets.token_urlsafe(16)
        self.tokens[code] = id_token
        return code


def basic_credentials(header: str) -> tuple[str, str]:
    client_id, _, secret = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
    return unquote(client_id), unquote(secret)
