"""The base of the errors that mean "the input or the options are wrong", as opposed to bugs.

Every such error derives from :class:`ClasssimError` (and from the built-in exception it also is,
``ValueError``, ``FileExistsError``, ...). The CLI prints them as one message and exits with
status 2; anything else keeps its traceback. This module imports nothing, so that every module
can use it without loading Spark or matplotlib.
"""


class ClasssimError(Exception):
    """Something the user can fix: the message says what, where, and how."""


def is_user_error(err: BaseException) -> bool:
    """Whether ``err`` is a user's mistake: a :class:`ClasssimError`, or Spark's own analysis
    error (an unknown column or table, a bad SQL filter) when PySpark is loaded."""
    if isinstance(err, ClasssimError):
        return True
    import sys

    spark_errors = sys.modules.get("pyspark.errors")
    return spark_errors is not None and isinstance(err, spark_errors.AnalysisException)
