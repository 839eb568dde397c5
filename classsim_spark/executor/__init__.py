"""What runs inside Spark's Python workers: Arrow batches in, partial statistics out.

Decoding and checking batches (``batches``, ``validation``), label counts (``labels``), the row
sample (``sampling``), the Parquet reader of local files (``parquet_reader``), and each task's
partial statistics and their merge (``partials``). Imports only the core.
"""
