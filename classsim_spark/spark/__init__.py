"""The driver's Spark layer: sessions, input sources and the one distributed pass.

``session`` starts or reuses a session (local, cluster, Spark Connect), ``sources`` resolves an
input into a DataFrame or Parquet read units and its class layout, ``scan`` runs the executor
functions over it and assembles the statistics on the driver. DataFrame APIs only, so that all of
it also runs over Spark Connect.
"""
