"""The schemas of a Milvus library's collections (qa/stores/milvus_library.py).

Milvus wants a vector field in every collection: those that hold none of their own (documents, files,
manifest, locks) carry a two-dimensional placeholder of zeros.
"""

from __future__ import annotations

from qa.stores.milvus_library import bm25_parameters, flat_or_ivf

KEY_LENGTH = 1024
TEXT_LENGTH = 65_535
LAYOUT_PROPERTY = "qa.library_layout"


def create(client, name: str, kind: str, dimension: int, expected_rows: int) -> None:
    from pymilvus import DataType, Function, FunctionType

    from qa.stores.milvus_library import LAYOUT

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description=f"qa library: {kind}")
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=KEY_LENGTH)
    index_params = client.prepare_index_params()
    if kind in ("passages", "units"):
        schema.add_field("doc_key", DataType.VARCHAR, max_length=KEY_LENGTH)
        schema.add_field("position", DataType.INT64)
        schema.add_field("record", DataType.VARCHAR, max_length=TEXT_LENGTH)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        index_params.add_index("vector", **flat_or_ivf(expected_rows if kind == "passages" else 0))
        if kind == "passages":
            # Already analysed (stemmed, stopwords dropped) by qa.text.index_terms; "standard" only splits it.
            schema.add_field("terms", DataType.VARCHAR, max_length=TEXT_LENGTH, enable_analyzer=True, analyzer_params={"tokenizer": "standard"})
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]))
            index_params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=bm25_parameters())
    else:
        fields = {
            "documents": [("doc_key", DataType.VARCHAR), ("piece", DataType.INT64), ("data", DataType.VARCHAR)],
            "files": [("sha", DataType.VARCHAR), ("piece", DataType.INT64), ("pieces", DataType.INT64), ("data", DataType.VARCHAR)],
            "manifest": [("kind", DataType.VARCHAR), ("version", DataType.INT64), ("writer", DataType.VARCHAR), ("piece", DataType.INT64), ("data", DataType.VARCHAR)],
            "locks": [("owner", DataType.VARCHAR), ("since_ms", DataType.INT64), ("seen_ms", DataType.INT64)],
        }[kind]
        for field, data_type in fields:
            if data_type == DataType.VARCHAR:
                schema.add_field(field, data_type, max_length=TEXT_LENGTH if field == "data" else KEY_LENGTH)
            else:
                schema.add_field(field, data_type)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
        index_params.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index_params, consistency_level="Strong", properties={LAYOUT_PROPERTY: str(LAYOUT)})
