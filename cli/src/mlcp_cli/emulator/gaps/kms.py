"""KMS: asymmetric keys from CloudFormation, ``MessageType=DIGEST``, failed verification, and the
unused key pair of a symmetric key made on first use (fill al).

Each fill names what AWS does, what moto 5.2.5 does, and what the fill does.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from mlcp_cli.emulator.gaps.state import _call_original

_DIGEST_LENGTH = {"ECDSA_SHA_256": 32, "ECDSA_SHA_384": 48, "ECDSA_SHA_512": 64}


def fill_cfn_kms_key(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """``AWS::KMS::Key`` with ``KeySpec``/``KeyUsage`` creates that key.

    AWS: an ``ECC_NIST_P256`` ``SIGN_VERIFY`` key signs and verifies. moto: CloudFormation always
    creates a ``SYMMETRIC_DEFAULT`` ``ENCRYPT_DECRYPT`` key (Sign fails with ValidationException).
    Fill: create the key with the template's spec and usage.
    """
    from moto.kms.models import kms_backends

    properties = cloudformation_json["Properties"]
    if properties.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT":
        return _call_original(
            cls,
            "create_from_cloudformation_json",
            resource_name,
            cloudformation_json,
            account_id,
            region_name,
            **kwargs,
        )
    key = kms_backends[account_id][region_name].create_key(
        policy=properties["KeyPolicy"]
        if isinstance(properties["KeyPolicy"], str)
        else json.dumps(properties["KeyPolicy"]),
        key_usage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
        key_spec=properties["KeySpec"],
        description=properties.get("Description", ""),
        tags=properties.get("Tags", []),
    )
    key.enabled = properties.get("Enabled", True)
    return key


def _prehashed(algorithm: str) -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    hash_algorithm = {"ECDSA_SHA_256": hashes.SHA256(), "ECDSA_SHA_384": hashes.SHA384()}.get(
        algorithm, hashes.SHA512()
    )
    return ec.ECDSA(Prehashed(hash_algorithm))


def _digest_request(self: Any) -> tuple[Any, bytes, str] | None:
    """(moto key, message bytes, algorithm) of an ECDSA ``MessageType=DIGEST`` request, else None."""
    from moto.kms.exceptions import ValidationException

    if self._get_param("MessageType") != "DIGEST":
        return None
    algorithm = str(self._get_param("SigningAlgorithm"))
    if algorithm not in _DIGEST_LENGTH:
        return None  # RSA keys: moto's behaviour (the fidelity table says so)
    message = self._get_param("Message")
    raw = base64.b64decode(message) if isinstance(message, str) else bytes(message or b"")
    if len(raw) != _DIGEST_LENGTH[algorithm]:
        raise ValidationException(
            f"Digest is invalid length for algorithm {algorithm}."  # AWS: ValidationException
        )
    key = self.kms_backend.describe_key(self._get_param("KeyId"))
    return key, raw, algorithm


def fill_kms_sign_digest(self: Any) -> str:
    """Sign with ``MessageType=DIGEST`` signs the given digest.

    AWS: DIGEST means the message *is* the hash: the signature verifies with the public key over
    the original data. moto: hashes the digest again (treats it as RAW), so a signature made in
    local mode does not verify with the public key. Fill: let moto validate the request (key usage,
    state, algorithm), then sign the digest itself (ECDSA, prehashed).
    """
    request = _digest_request(self)
    response = _call_original(type(self), "sign", self)
    if request is None:
        return str(response)
    key, raw, algorithm = request
    signature = key.private_key.private_key.sign(raw, _prehashed(algorithm))
    body = json.loads(response)
    body["Signature"] = base64.b64encode(signature).decode("ascii")
    return json.dumps(body)


def _invalid_signature() -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(
        "KMSInvalidSignatureException",
        "The request was rejected because the signature verification failed.",
    )


def fill_kms_verify(self: Any) -> str:
    """Verify refuses a signature that does not verify; DIGEST messages are digests.

    AWS: a signature that does not verify fails with ``KMSInvalidSignatureException``; DIGEST as
    for Sign. moto: answers 200 with ``SignatureValid: false`` and hashes a DIGEST again.
    Fill: validate through moto, verify a DIGEST prehashed, raise on an invalid signature.
    """
    from cryptography.exceptions import InvalidSignature

    request = _digest_request(self)
    body = json.loads(_call_original(type(self), "verify", self))
    if request is not None:
        key, raw, algorithm = request
        signature = self._get_param("Signature")
        blob = base64.b64decode(signature) if isinstance(signature, str) else bytes(signature)
        try:
            key.private_key.private_key.public_key().verify(blob, raw, _prehashed(algorithm))
            body["SignatureValid"] = True
        except (InvalidSignature, ValueError):
            body["SignatureValid"] = False
    if not body.get("SignatureValid"):
        raise _invalid_signature()
    return json.dumps(body)


class KeyPairOnFirstUse:
    """The private key moto gives every KMS key, generated when something first uses it."""

    def __init__(self, key_spec: str) -> None:
        self._key_spec = key_spec
        self._key: Any = None
        self._lock = threading.Lock()

    @property
    def generated(self) -> bool:
        """Whether the key pair exists yet."""
        return self._key is not None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        from moto.kms.utils import generate_private_key

        with self._lock:
            if self._key is None:
                self._key = generate_private_key(self._key_spec)
        return getattr(self._key, name)


def fill_kms_key_pair_on_first_use(key_spec: str) -> Any:
    """Replaces ``moto.kms.models.generate_private_key``: a key that is not asymmetric gets its
    (unused) key pair when something first uses it (fill al, ADR 39).

    AWS: a ``SYMMETRIC_DEFAULT`` or HMAC key has no key pair. moto 5.2.5: every new key, whatever
    its spec, generates an RSA-2048 private key at creation (20-70 ms of CPU each, at every local
    deploy), which a symmetric key never uses. Fill: the same key, generated on first use; an
    asymmetric key (RSA_*, ECC_*) gets its key pair at creation as before.
    """
    from moto.kms.utils import KeySpec, generate_private_key

    if key_spec in KeySpec.rsa_key_specs() or key_spec in KeySpec.ecc_key_specs():
        return generate_private_key(key_spec)
    return KeyPairOnFirstUse(key_spec)
