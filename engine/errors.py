"""The one exception type users see: its message is a single clear sentence."""


class FrontdeskError(Exception):
    """A failure the user can act on. `str(err)` is shown as is (CLI, dialogs); no stack trace."""

    exit_code = 1


class StoreError(FrontdeskError):
    """The database cannot be opened, read or written."""

    exit_code = 3


class InputError(FrontdeskError):
    """Input the engine refuses: empty text, a corrupt image or audio file, a bad data file."""

    exit_code = 2


class ModelError(FrontdeskError):
    """A model folder or checkpoint that cannot be loaded safely."""

    exit_code = 4


class TrainingCancelled(FrontdeskError):
    """The person pressed cancel; nothing was written."""

    exit_code = 130
