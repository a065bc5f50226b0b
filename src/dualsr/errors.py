"""The one exception type for input a user can fix."""


class DualSRInputError(ValueError):
    """Bad input or settings; the message names the problem and the fix.

    The CLI turns it into exit status 2 with the message on one line; the napari
    plugin turns it into a notification.
    """


class Cancelled(Exception):
    """A long run was stopped on request (``should_stop`` returned True).

    Raised between tiles by inference, so a caller never receives a half-written
    result; training instead returns its result so far (``result.stopped``).
    """
