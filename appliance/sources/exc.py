"""Frame source exceptions. Each also inherits the matching builtin, so callers may catch either."""


class SourceError(Exception):
    """Base class of frame source errors."""


class SourceUnavailable(SourceError, ImportError):
    """The requested backend cannot be used here (library or device missing)."""


class SourceClosed(SourceError, RuntimeError):
    """The source is not open (never opened, or closed)."""


class CameraTimeout(SourceError, TimeoutError):
    """The camera did not deliver a frame in time."""


class CameraDisconnected(SourceError, ConnectionError):
    """The camera went away (unplugged, stream dropped, device error)."""


class EndOfStream(SourceError, EOFError):
    """A finite source (file, folder played once) has no more frames."""


# Errors after which reopening the camera may help.
CAMERA_LOSS = (CameraTimeout, CameraDisconnected)
