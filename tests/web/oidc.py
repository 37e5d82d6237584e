"""A real OpenID provider for the tests: `oidc-provider` (npm) in a Node process.

`OpenIdProvider` starts `tests/node/oidc-provider.mjs` over HTTPS (the development CA's server
certificate, valid for 127.0.0.1) with the clients and users a test gives, and offers what a test
needs of a provider from the outside: the authorization code flow driven over HTTP as a browser
would (for ID tokens and user access tokens), the client-credentials grant, and key rotation.
Nothing here signs a token: the provider does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.support import DevEnv, free_port

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
LOW = "http://eidas.europa.eu/LoA/low"
API_AUDIENCE = "urn:meerpunt:gateway"


def require_node_tools() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(
            "The browser and sign-in tests need Node.js and tests/node/node_modules: "
            "run `make install-dev` (npm ci --prefix tests/node) or `bash .ci/run`."
        )
    return node


@dataclass
class OpenIdProvider:
    env: DevEnv
    users: dict[str, dict[str, Any]]
    clients: list[dict[str, Any]]
    client_claims: dict[str, dict[str, Any]] = field(default_factory=dict)
    short_lived_clients: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> OpenIdProvider:
        node = require_node_tools()
        config = {
            "issuer": self.issuer,
            "port": self.port,
            "tls_key": str(self.env.directory / "pki" / "server.key"),
            "tls_cert": str(self.env.directory / "pki" / "server.pem"),
            "clients": self.clients,
            "users": self.users,
            "client_claims": self.client_claims,
            "short_lived_clients": self.short_lived_clients,
            "api_audience": API_AUDIENCE,
        }
        self.process = subprocess.Popen(
            [node, str(NODE_DIR / "oidc-provider.mjs")],
            env={**os.environ, "OP_CONFIG": json.dumps(config), "NODE_ENV": "test"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=NODE_DIR,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("ready"):
                break
            if time.monotonic() > deadline:
                break
        if self.process.poll() is not None or not self.output or not self.output[-1].startswith("ready"):
            raise RuntimeError("the OpenID provider did not start:\n" + "".join(self.output))
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    # -- what a test asks of the provider ---------------------------------------------------------

    def http(self) -> httpx.Client:
        return httpx.Client(
            verify=ssl.create_default_context(cafile=str(self.env.ca_file)),
            timeout=15,
            follow_redirects=False,
        )

    def metadata(self) -> dict[str, Any]:
        with self.http() as client:
            document: dict[str, Any] = client.get(self.issuer + "/.well-known/openid-configuration").json()
            return document

    def rotate_keys(self, *, drop_old: bool = False) -> list[str]:
        with self.http() as client:
            response = client.post(self.issuer + "/__test/rotate" + ("?drop_old=1" if drop_old else ""))
            response.raise_for_status()
            kids: list[str] = response.json()["kids"]
            return kids

    def client_credentials(self, client_id: str, secret: str) -> str:
        """A JWT access token for the API audience, from the client-credentials grant."""
        with self.http() as client:
            response = client.post(
                self.metadata()["token_endpoint"],
                data={"grant_type": "client_credentials", "scope": "api", "resource": API_AUDIENCE},
                auth=(client_id, secret),
            )
            assert response.status_code == 200, response.text
            token: str = response.json()["access_token"]
            return token

    def code_flow(
        self, *, client_id: str, secret: str, redirect_uri: str, login: str, scope: str = "openid"
    ) -> dict[str, Any]:
        """Sign `login` in as a browser would (forms, cookies, redirects) and redeem the code:
        the provider's token response (ID token, access token)."""
        import base64
        import hashlib
        import secrets

        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        meta = self.metadata()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": API_AUDIENCE,
        }
        with self.http() as client:
            response = client.get(meta["authorization_endpoint"], params=params)
            for _ in range(10):
                location = response.headers.get("location")
                if location is None:
                    # The sign-in form of the provider: post the chosen account.
                    action = re.search(r'action="([^"]+)"', response.text)
                    assert action, response.text
                    response = client.post(urljoin(self.issuer, action.group(1)), data={"login": login})
                    continue
                target = urljoin(str(response.url), location)
                if target.startswith(redirect_uri):
                    code = parse_qs(urlsplit(target).query)["code"][0]
                    tokens = client.post(
                        meta["token_endpoint"],
                        data={
                            "grant_type": "authorization_code",
                            "code": code,
                            "redirect_uri": redirect_uri,
                            "code_verifier": verifier,
                        },
                        auth=(client_id, secret),
                    )
                    tokens.raise_for_status()
                    result: dict[str, Any] = tokens.json()
                    return result
                response = client.get(target)
        raise AssertionError("the code flow did not reach the redirect URI")
