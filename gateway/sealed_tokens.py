"""Development citizen tokens, sealed so that the BSN they carry never shows on a terminal.

`meerpunt-gateway dev-token --role citizen` stands in for the DigiD broker, and its token carries
the citizen's `bsn` claim. Printed as a plain JWS, that claim is one base64 decode away on stdout,
in shell history and in CI logs. So the CLI prints the JWS encrypted (JWE, `dir` + A256GCM, the
nested-JWT form: `cty: JWT`) under a key derived from the environment's BSN hash key, and the gateway
of that same development environment opens it before verifying the inner JWS as before. Sealing
adds confidentiality only: the signature and the issuer's checks are unchanged. Production gateways
have no sealing key (`TokenVerifier` gets one in development only) and refuse a sealed token as
malformed.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jose import jwe
from jose.exceptions import JOSEError

_INFO = b"meerpunt development token sealing v1"


class SealedTokenError(ValueError):
    """The token looks sealed (five JOSE parts) but this key cannot open it."""


def sealing_key(bsn_hash_key: bytes) -> bytes:
    """A key of its own for sealing, derived so that it never doubles as the BSN hash key."""
    return HKDF(hashes.SHA256(), 32, salt=None, info=_INFO).derive(bsn_hash_key)


def is_sealed(token: str) -> bool:
    """A JWE in compact form has five parts; a JWS has three."""
    return token.count(".") == 4


def seal(token: str, key: bytes) -> str:
    return jwe.encrypt(token.encode(), key, algorithm="dir", encryption="A256GCM", cty="JWT").decode()


def open_sealed(token: str, key: bytes) -> str:
    try:
        inner = jwe.decrypt(token.encode(), key)
    except JOSEError as exc:
        raise SealedTokenError("the sealed token cannot be opened with this environment's key") from exc
    if inner is None:
        raise SealedTokenError("the sealed token is empty")
    return inner.decode()
