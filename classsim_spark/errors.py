"""The errors that mean "the input or the options are wrong", as opposed to bugs.

The CLI prints these as one message and exits with status 2; anything else keeps its traceback.
"""

from pyspark.errors import AnalysisException

from classsim_spark.api import DriverCapacityError
from classsim_spark.classes import ClassListError
from classsim_spark.config import ConfigError
from classsim_spark.demo_data import DemoSpecError
from classsim_spark.moments import ZeroVarianceError
from classsim_spark.render.inputs import FigureError
from classsim_spark.results import (
    NotAResultsDirectoryError,
    ResultsExistError,
    UnfinishedResultsError,
)
from classsim_spark.session import JavaNotFoundError
from classsim_spark.sources import InputError
from classsim_spark.taxonomy import TaxonomyError
from classsim_spark.validation import InvalidInputError

USER_ERRORS: tuple[type[BaseException], ...] = (
    AnalysisException,
    ClassListError,
    ConfigError,
    DemoSpecError,
    DriverCapacityError,
    FigureError,
    InputError,
    InvalidInputError,
    JavaNotFoundError,
    NotAResultsDirectoryError,
    ResultsExistError,
    TaxonomyError,
    UnfinishedResultsError,
    ZeroVarianceError,
)
