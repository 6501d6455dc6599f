"""The one exception type a user sees: a message naming the file, line or key at fault."""


class KrelectraError(Exception):
    """A problem with the user's input or configuration (not a bug in krelectra)."""
