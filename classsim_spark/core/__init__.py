"""The numerical core: pure numpy/scipy functions of score blocks and similarity matrices.

Mergeable moments and Pearson correlation (``moments``), score transforms (``transforms``),
orders (``seriation``), the groups a model learned (``structure``, ``fuzzy``), their stability
under resampling (``stability``) and agreement with a taxonomy (``taxonomy``). Nothing here reads
or writes files, touches Spark or draws: tests/test_architecture.py checks it.
"""
