"""Files: the results directory (its every file name, atomic writes, the ``unfinished.json``
marker), class files, taxonomy files, order files and the TOML configuration."""
