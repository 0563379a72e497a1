"""The one exception users see: a sentence that says what is wrong."""


class HotfixError(Exception):
    """An expected failure: the message is shown as it is, and the process
    was left exactly as it was."""
