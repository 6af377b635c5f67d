"""Errors raised by the store; each also inherits the matching builtin, so callers catch broadly."""


class StoreError(Exception):
    """Base class of every store error."""


class KeyFileError(StoreError, PermissionError):
    """The key-encryption key is missing, has unsafe permissions or the wrong size."""


class InsecureKeyFileError(KeyFileError):
    """A key file group or others could read."""


class WrongKeyError(StoreError, ValueError):
    """The key-encryption key does not open this store (or a sealed record was tampered with)."""


class StoreFullError(StoreError, OSError):
    """The disk (or the database's page limit) is full; the write was rolled back."""


class StoreCorruptError(StoreError, OSError):
    """The database file is damaged or is not a store database."""


class StoreClosedError(StoreError, RuntimeError):
    """The store was used after close()."""


class AccessDenied(StoreError, PermissionError):
    """The access context does not allow this operation (missing purpose, case number, role)."""


class NotFound(StoreError, KeyError):
    """No such read, hold or release request."""


class ReleaseError(StoreError, PermissionError):
    """An export or release is not covered by an approved release request."""


class EvidenceError(StoreError, ValueError):
    """An evidence package is malformed, altered or not signed by the expected key."""


class AuditLogError(StoreError, ValueError):
    """The access log's hash chain or a signed checkpoint does not verify."""


class DuplicateError(StoreError, ValueError):
    """A record with this id is already stored."""
