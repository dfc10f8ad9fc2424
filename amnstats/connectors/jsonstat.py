"""JSON-stat 2.0 datasets (PxWeb's json-stat2 output and PxWebApi v2 table metadata).

Follows the format, not one producer's habits:
  * dimensions in the order of `id` with the sizes in `size` (the order of the keys under
    `dimension` means nothing; a key there that is not in `id` is ignored);
  * `category.index` as an object {code: position} or an array of codes, or absent for a
    dimension of one category;
  * `value` as an array (row-major, last dimension fastest) or an object keyed by flat index;
  * `status` as a string for every value, an array, or an object keyed by flat index;
  * `note` on the dataset and on dimensions.
Anything that does not add up (sizes, positions, number of values) raises FormatError, so
a changed format can never shift values onto the wrong codes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import FormatError


@dataclass(frozen=True)
class Dimension:
    id: str
    label: str
    codes: tuple[str, ...]             # in index order
    labels: dict[str, str]
    units: dict[str, dict] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    elimination: bool | None = None    # PxWeb extension: may be left out of a query


@dataclass(frozen=True)
class Cell:
    index: int                         # flat index in the dataset
    codes: tuple[str, ...]             # one code per dimension, in `id` order
    value: float | None
    status: str                        # '' or the producer's symbol ('..', '-', ...)


@dataclass
class Dataset:
    label: str
    source: str
    updated: str
    ids: tuple[str, ...]
    sizes: tuple[int, ...]
    dimensions: dict[str, Dimension]
    values: list[float | None]
    status: dict[int, str]
    notes: tuple[str, ...]
    extension: dict
    roles: dict[str, list[str]]

    @property
    def n_cells(self) -> int:
        return math.prod(self.sizes)

    def cells(self) -> Iterator[Cell]:
        """Every value with its codes (row-major, last dimension fastest)."""
        dims = [self.dimensions[i].codes for i in self.ids]
        strides = [math.prod(self.sizes[k + 1:]) for k in range(len(self.sizes))]
        for flat, value in enumerate(self.values):
            codes = tuple(dims[k][(flat // strides[k]) % self.sizes[k]] for k in range(len(dims)))
            yield Cell(flat, codes, value, self.status.get(flat, ""))


def _fail(where: str, message: str) -> FormatError:
    return FormatError(f"{where}: svaret följer inte JSON-stat 2.0 som väntat – {message}")


def _categories(dim_id: str, raw: dict, size: int, where: str) -> tuple[tuple[str, ...], dict[str, str]]:
    category = raw.get("category")
    if not isinstance(category, dict):
        raise _fail(where, f"dimensionen {dim_id} saknar 'category'")
    index = category.get("index")
    labels = category.get("label") or {}
    if not isinstance(labels, dict):
        raise _fail(where, f"'category.label' i {dim_id} är inget objekt")
    if index is None:
        if len(labels) != 1:
            raise _fail(where, f"dimensionen {dim_id} saknar 'category.index'")
        codes = tuple(labels)
    elif isinstance(index, list):
        codes = tuple(str(c) for c in index)
        if len(set(codes)) != len(codes):
            raise _fail(where, f"dimensionen {dim_id} har samma kod två gånger")
    elif isinstance(index, dict):
        positions = sorted(index.items(), key=lambda kv: kv[1])
        if [p for _, p in positions] != list(range(len(positions))) or \
                not all(isinstance(p, int) and not isinstance(p, bool) for _, p in positions):
            raise _fail(where, f"'category.index' i {dim_id} har positioner som inte är 0..{len(positions) - 1}")
        codes = tuple(str(c) for c, _ in positions)
    else:
        raise _fail(where, f"'category.index' i {dim_id} är varken lista eller objekt")
    if len(codes) != size:
        raise _fail(where, f"dimensionen {dim_id} har {len(codes)} kategorier men 'size' säger {size}")
    return codes, {c: str(labels.get(c, c)) for c in codes}


def _number(v, where: str, flat: int) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _fail(where, f"värde nr {flat} är inget tal ({v!r})")
    if math.isnan(v) or math.isinf(v):
        raise _fail(where, f"värde nr {flat} är inte ändligt")
    return float(v)


def _flat_map(raw, n: int, name: str, where: str) -> dict[int, object]:
    out: dict[int, object] = {}
    for key, v in raw.items():
        if not str(key).isdigit() or int(key) >= n:
            raise _fail(where, f"'{name}' har nyckeln {key!r} utanför 0..{n - 1}")
        out[int(key)] = v
    return out


def _notes(raw) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list):
        return tuple(str(x) for x in raw)
    if isinstance(raw, dict):
        return tuple(str(x) for x in raw.values())
    return (str(raw),)


def parse(doc, where: str = "JSON-stat", *, metadata_only: bool = False) -> Dataset:
    """A JSON-stat 2.0 dataset. `metadata_only`: `value` may be empty (PxWebApi v2
    /tables/{id}/metadata answers with the dataset's dimensions and no values)."""
    if not isinstance(doc, dict):
        raise _fail(where, "svaret är inget JSON-objekt")
    if doc.get("class") != "dataset":
        raise _fail(where, f"'class' är {doc.get('class')!r}, inte 'dataset'")
    if not str(doc.get("version", "")).startswith("2"):
        raise _fail(where, f"'version' är {doc.get('version')!r}, inte 2.x")
    ids, sizes, dims_raw = doc.get("id"), doc.get("size"), doc.get("dimension")
    if not isinstance(ids, list) or not isinstance(sizes, list) or not isinstance(dims_raw, dict):
        raise _fail(where, "'id', 'size' eller 'dimension' saknas")
    if len(ids) != len(sizes) or len(set(ids)) != len(ids):
        raise _fail(where, "'id' och 'size' är olika långa eller 'id' upprepar en dimension")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in sizes):
        raise _fail(where, "'size' innehåller något annat än heltal")
    dimensions: dict[str, Dimension] = {}
    for dim_id, size in zip(ids, sizes):
        raw = dims_raw.get(dim_id)
        if not isinstance(raw, dict):
            raise _fail(where, f"dimensionen {dim_id} finns i 'id' men inte under 'dimension'")
        codes, labels = _categories(dim_id, raw, size, where)
        category = raw["category"]
        ext = raw.get("extension") if isinstance(raw.get("extension"), dict) else {}
        dimensions[dim_id] = Dimension(
            id=dim_id, label=str(raw.get("label", dim_id)), codes=codes, labels=labels,
            units=category.get("unit") if isinstance(category.get("unit"), dict) else {},
            notes=_notes(raw.get("note")),
            elimination=ext.get("elimination") if isinstance(ext.get("elimination"), bool) else None,
        )
    n = math.prod(sizes)
    raw_values = doc.get("value")
    if raw_values is None:
        raise _fail(where, "'value' saknas")
    if isinstance(raw_values, list):
        if metadata_only and not raw_values:
            values: list[float | None] = []
        elif len(raw_values) != n:
            raise _fail(where, f"{len(raw_values)} värden men dimensionerna ger {n}")
        else:
            values = [_number(v, where, i) for i, v in enumerate(raw_values)]
    elif isinstance(raw_values, dict):
        sparse = _flat_map(raw_values, n, "value", where)
        values = [None] * n
        for i, v in sparse.items():
            values[i] = _number(v, where, i)
    else:
        raise _fail(where, "'value' är varken lista eller objekt")

    raw_status = doc.get("status")
    status: dict[int, str] = {}
    if isinstance(raw_status, str):
        status = {i: raw_status for i in range(n)}
    elif isinstance(raw_status, list):
        if len(raw_status) not in (1, n):
            raise _fail(where, f"'status' har {len(raw_status)} poster men dimensionerna ger {n}")
        status = {i: str(s) for i, s in enumerate(raw_status * (n if len(raw_status) == 1 else 1)) if s}
    elif isinstance(raw_status, dict):
        status = {i: str(s) for i, s in _flat_map(raw_status, n, "status", where).items() if s}
    elif raw_status is not None:
        raise _fail(where, "'status' är varken text, lista eller objekt")

    roles = doc.get("role") if isinstance(doc.get("role"), dict) else {}
    return Dataset(
        label=str(doc.get("label", "")), source=str(doc.get("source", "")), updated=str(doc.get("updated", "")),
        ids=tuple(ids), sizes=tuple(sizes), dimensions=dimensions, values=values, status=status,
        notes=_notes(doc.get("note")), extension=doc.get("extension") if isinstance(doc.get("extension"), dict) else {},
        roles={k: list(v) for k, v in roles.items() if isinstance(v, list)},
    )
