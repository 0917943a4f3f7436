"""The one error type that crosses the package boundary.

Every message names the bad value and says what to do next; the CLI prints it as
``Error: <message>`` and exits 1, never with a traceback.
"""


class QAError(Exception):
    """A problem the user can fix: bad input, a missing or stale index, an unknown id."""


class IndexMissingError(QAError):
    pass


class StaleIndexError(QAError):
    pass


class UnusableFile(QAError):
    """A file (or a record of one) the indexer skips. ``group`` names the kind of problem, so that a run
    over thousands of files can report the skips grouped and counted ("PDFs with no text, even by OCR")."""

    def __init__(self, message: str, group: str):
        super().__init__(message)
        self.group = group
