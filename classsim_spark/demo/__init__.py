"""The synthetic demo: classifier outputs with planted class structure and known answers.

classsim finds the groups a classifier has learned from its prediction scores alone. To show and
test that on data of any size, this module invents a classifier whose structure is known: every
class has a latent vector built from shared factors of its taxonomy (top group, middle group),
its own factor and a few planted extras, and each sample's logits are the latent vectors' inner
products with the sample's latent state. Classes that share factors get correlated logit columns,
so the class-similarity matrix (Pearson over samples) recovers the taxonomy and the extras:

* **near-duplicates**: pairs of classes in one middle group with almost identical latent vectors
  (duplicate identities); they are the most similar pairs of all;
* **cross-cutting factor** ("wears glasses"): classes spread over at least three top groups share
  an extra factor, a group the taxonomy does not contain;
* **split group** ("monochrome photos"): two middle groups in different top groups share a factor,
  so the off-diagonal block between them stands out from the cross-group background.

Everything is deterministic in ``DemoSpec.seed``. Samples are generated in fixed blocks of
``BLOCK_ROWS`` rows, each from its own random stream (seed, block index), so the values never
depend on how the rows are chunked for writing; runs on one machine are bit-identical (another
BLAS may round the matrix product differently in the last bits).
:func:`~classsim_spark.demo.generator.generate` returns small data in memory (``generator``),
:func:`~classsim_spark.demo.writer.write_demo` streams any size to a Parquet dataset in bounded
memory (``writer``), and :func:`~classsim_spark.demo.reference.numpy_results` computes a results
directory from the same data with numpy alone, the oracle of the tests (``reference``).

Column order is a random permutation of the taxonomy: class ids are not grouped by parent, so
the structure has to be found, not read off the index.
"""
