"""The one exception type for input a user can fix."""


class DualSRInputError(ValueError):
    """Bad input or settings; the message names the problem and the fix.

    The CLI turns it into exit status 2 with the message on one line; the napari
    plugin turns it into a notification.
    """
