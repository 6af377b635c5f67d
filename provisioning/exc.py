"""Errors of the provisioning package; each also inherits the matching builtin."""


class ProvisioningError(Exception):
    """Base class of provisioning errors."""


class KeyFileError(ProvisioningError, ValueError):
    """A key file is missing, malformed or of the wrong kind."""


class InsecureKeyFile(KeyFileError, PermissionError):
    """A private key file is readable by group or others."""


class SignatureError(ProvisioningError, ValueError):
    """A signature does not verify against the trusted key."""


class EnrolmentError(ProvisioningError, ValueError):
    """An enrolment request or response is malformed or does not match this unit."""


class UpdateError(ProvisioningError, ValueError):
    """An update bundle is malformed, unsigned, tampered with or older than installed."""


class InvalidInput(ProvisioningError, ValueError):
    """A provisioning input (URL, identifier, option) is invalid."""


class AlreadyProvisioned(ProvisioningError, FileExistsError):
    """The data directory already holds a unit's keys."""
