"""The one exception a bad value raises while a row is typed."""


class FieldError(Exception):
    """One value is unusable; the reader turns it into the row's RowProblem."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message
