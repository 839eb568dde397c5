"""spark-submit entry point for the class-similarity job.

    spark-submit --py-files classsim_spark.zip jobs/class_similarity.py \
        --config conf/class_similarity.toml [--input ... --out ... any `classsim similarity` option]

The options are those of ``classsim similarity``; the session is the one spark-submit created.
"""

import sys

from classsim_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["similarity", *sys.argv[1:]]))
