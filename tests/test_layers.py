"""The layer registry agrees with the data model it describes."""

import pytest

from db.layers import LAYERS
from db.models import metadata


@pytest.mark.parametrize("layer", [layer for layer in LAYERS.values() if layer.importable], ids=lambda l: l.name)
def test_every_not_null_column_gets_a_value(layer):
    table = metadata.tables[layer.table]
    fields = {f.target: f for f in layer.fields}
    for column in table.columns:
        if column.nullable or column.primary_key or column.name in ("geom", *layer.extra_columns):
            continue  # derived on load, like a street's length
        if column.server_default is not None and column.name not in fields:
            continue  # left out of COPY, the database fills it
        assert column.name in fields, f"{layer.name}: nothing fills NOT NULL {column.name}"
        field = fields[column.name]
        assert field.required or field.default is not None, f"{layer.name}.{field.name} may come empty"


@pytest.mark.parametrize("layer", LAYERS.values(), ids=lambda l: l.name)
def test_every_column_named_exists(layer):
    table = metadata.tables[layer.table]
    assert set(layer.columns) <= set(table.columns.keys())
    for field in layer.fields:
        if field.kind == "choice":
            assert field.default is None or field.default in field.choices
            assert {target for _, target in field.synonyms} <= set(field.choices)
