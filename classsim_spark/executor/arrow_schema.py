"""The Spark DDL of an Arrow schema: a task's output schema written once, as Arrow, for both
``mapInArrow`` (which wants DDL) and the batches the task builds."""

import pyarrow as pa

_TYPES = {
    pa.string(): "string",
    pa.binary(): "binary",
    pa.int32(): "int",
    pa.int64(): "long",
    pa.float64(): "double",
}


def spark_ddl(schema: pa.Schema) -> str:
    """``"name type, ..."`` for the Arrow types tasks emit (strings, binaries, 32/64-bit
    integers, doubles, and lists of those).

    Examples
    --------
    >>> spark_ddl(pa.schema([("n", pa.int64()), ("ids", pa.list_(pa.int32()))]))
    'n long, ids array<int>'
    """

    def name(t: pa.DataType) -> str:
        if pa.types.is_list(t):
            return f"array<{name(t.value_type)}>"
        return _TYPES[t]

    return ", ".join(f"{field.name} {name(field.type)}" for field in schema)
