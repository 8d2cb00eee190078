"""Encryption of secrets stored at rest (storage keys, signing secrets) with rotatable Fernet keys."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Model


@cache
def _cipher(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    """Build the cipher: the first key encrypts, every key decrypts."""
    if not keys:
        derived = hashlib.sha256(b"dataset-hub secrets:" + secret_key.encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "SECRETS_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes)"
        ) from None


def cipher() -> MultiFernet:
    """Return the cipher for the current settings."""
    return _cipher(tuple(settings.SECRETS_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    """Encrypt a secret for storage."""
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Decrypt a stored secret; a ciphertext no configured key opens is a configuration error."""
    try:
        return cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("a stored secret cannot be decrypted with SECRETS_ENCRYPTION_KEYS") from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt a stored secret under the newest key."""
    return cipher().rotate(ciphertext.encode()).decode()


def rotate_stored(model: type[Model], field: str, *, batch_size: int = 500) -> int:
    """Re-encrypt one encrypted column of every row under the newest key, in locked batches."""
    rotated = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                model._default_manager.select_for_update()
                .filter(pk__gt=last_pk)
                .exclude(**{field: ""})
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return rotated
            for row in batch:
                setattr(row, field, rotate(getattr(row, field)))
            model._default_manager.bulk_update(batch, [field])
        rotated += len(batch)
        last_pk = batch[-1].pk
