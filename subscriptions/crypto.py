"""Encryption at rest for webhook signing secrets (Fernet, key rotation through MultiFernet)."""

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _as_fernet_key(raw: str) -> bytes:
    """Accept a proper Fernet key, or derive one from any other string of 32+ characters."""
    try:
        if len(base64.urlsafe_b64decode(raw.encode())) == 32:
            return raw.encode()
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest())


@functools.lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("SECRETS_ENCRYPTION_KEYS is empty: signing secrets cannot be stored.")
    return MultiFernet([Fernet(_as_fernet_key(k)) for k in keys])


def _fernet() -> MultiFernet:
    return _multi_fernet(tuple(settings.SECRETS_ENCRYPTION_KEYS))


def encrypt_secret(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    return _decrypt(ciphertext, tuple(settings.SECRETS_ENCRYPTION_KEYS))


@functools.lru_cache(maxsize=4096)
def _decrypt(ciphertext: str, keys: tuple[str, ...]) -> str:
    # Remembered per ciphertext and key set (under the same keys the same ciphertext always holds the same secret):
    # every delivery batch signs with its subscription's secrets, and decrypting them each time showed in the
    # worker's profile (docs/profiles/).
    return _multi_fernet(keys).decrypt(ciphertext.encode()).decode()


def reencrypt_secret(ciphertext: str) -> str:
    """Re-encrypt under the first (newest) key; used when the encryption key is rotated."""
    return _fernet().rotate(ciphertext.encode()).decode()
