"""spark-submit entry point: the whole class-similarity analysis of a prediction table.

    spark-submit --py-files classsim_spark.zip jobs/class_similarity.py \
        --config conf/class_similarity.toml [--input ... --out ... any `classsim run` option]

It runs what ``classsim run`` runs, in the session spark-submit created: the scan on the
cluster, then on the driver the seriation, the structure and its stability, and the figures,
all into the results directory. ``--stop-after similarity`` (or ``analyze``) stops earlier; the
later stages can follow without Spark (``classsim analyze`` / ``classsim render``). The TOML's
``[analysis]`` and ``[render]`` sections configure them.
"""

import sys

from classsim_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
