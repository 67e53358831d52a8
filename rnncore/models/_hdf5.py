"""Bounded reading and plain writing of the HDF5 files Keras writes (``model.weights.h5``
inside a ``.keras`` archive, ``.weights.h5``, legacy ``.h5``), through h5py alone.

Reading trusts nothing in the file: a dataset is read only once its shape equals the shape the
model (rebuilt from the file's config, under the weight budget) expects, and its dtype is a
number of the expected kind, so a crafted file cannot make rnncore allocate more than the
model's own weights. A truncated or damaged file becomes a ValueError naming the file and the
dataset, never h5py's bare OSError.
"""
import io

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover - h5py is a dependency; say so when it is missing
    h5py = None

SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Keras splits a long attribute (a model's layer names) into name0, name1, ... because an HDF5
# object header holds at most 64 KiB
_ATTR_LIMIT = 64512


def require_h5py():
    if h5py is None:
        raise ImportError("Reading and writing Keras's .keras, .weights.h5 and .h5 files needs "
                          "h5py: pip install h5py")
    return h5py


class H5Error(ValueError):
    """A file that is not the HDF5 rnncore expected (raised with the file and dataset named)."""


def open_read(source, what):
    """Open `source` (a path or bytes) for reading; `what` names it in errors."""
    require_h5py()
    if isinstance(source, (bytes, bytearray)):
        head, source = bytes(source[:8]), io.BytesIO(source)
    else:
        with open(source, "rb") as f:
            head = f.read(8)
    if head != SIGNATURE and head and SIGNATURE.startswith(head):
        raise H5Error(f"{what} is a truncated HDF5 file ({len(head)} bytes)")
    if head != SIGNATURE:
        raise H5Error(f"{what} is not an HDF5 file (it starts with {head!r}, expected "
                      f"{SIGNATURE!r})")
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as exc:
        raise H5Error(f"{what} is a damaged or truncated HDF5 file ({exc})") from None


def _get(parent, name, what):
    """The object at `name` (a path below `parent`), or None; a soft or external link on the
    way is refused: a file's links could make rnncore read another file on this machine."""
    current = parent
    for part in name.split("/"):
        if not isinstance(current, h5py.Group):
            return None  # a path that goes on below a dataset
        if not part:
            raise H5Error(f"{what}: invalid path {name!r} in the HDF5 file")
        try:
            link = current.get(part, getlink=True)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise H5Error(f"{what}: cannot read {_join(current, part)!r} ({exc})") from None
        if link is None:
            return None
        if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
            raise H5Error(f"{what}: {_join(current, part)!r} is a {type(link).__name__}; "
                          "rnncore reads only the file's own objects")
        try:
            current = current[part]
        except (OSError, ValueError, KeyError) as exc:
            raise H5Error(f"{what}: cannot read {_join(current, part)!r} ({exc})") from None
    return current


def group(parent, name, what):
    """The subgroup `name` of `parent`, or an H5Error naming what is missing."""
    item = _get(parent, name, what)
    if item is None:
        raise H5Error(f"{what}: it has no group {_join(parent, name)!r}")
    if not isinstance(item, h5py.Group):
        raise H5Error(f"{what}: {_join(parent, name)!r} is not a group")
    return item


def has(parent, name, what="the file"):
    """Whether `parent` holds an object at `name` (links refused as by :func:`group`)."""
    return _get(parent, name, what) is not None


def _join(parent, name):
    base = parent.name.rstrip("/")
    return f"{base}/{name}".lstrip("/")


def read_array(parent, name, shape, kinds, what, dtype=None):
    """The dataset `name` of `parent` as a C-ordered array, after checking that its shape is
    exactly `shape` and its dtype's kind is one of `kinds` ("f" float, "i"/"u" integer);
    cast to `dtype` when given."""
    path = _join(parent, name)
    ds = _get(parent, name, what)
    if ds is None:
        raise H5Error(f"{what}: it has no dataset {path!r}, expected one of shape "
                      f"{tuple(shape)}")
    if not isinstance(ds, h5py.Dataset):
        raise H5Error(f"{what}: {path!r} is a group, expected a dataset of shape "
                      f"{tuple(shape)}")
    if tuple(ds.shape or ()) != tuple(shape):
        raise H5Error(f"{what}: dataset {path!r} has shape {tuple(ds.shape or ())}, the model "
                      f"expects {tuple(shape)}")
    check_storage(ds, what)
    if ds.dtype.kind not in kinds or ds.dtype.hasobject:
        raise H5Error(f"{what}: dataset {path!r} has dtype {ds.dtype}, expected a "
                      f"{'float' if kinds == 'f' else 'numeric'} array")
    try:
        value = ds[()]
    except (OSError, ValueError, TypeError) as exc:
        raise H5Error(f"{what}: dataset {path!r} cannot be read, the file is damaged or "
                      f"truncated ({exc})") from None
    value = np.asarray(value)
    return np.array(value, dtype=dtype or value.dtype.newbyteorder("="), order="C")


# deflate, HDF5's usual filter, expands at most about 1032:1
_MAX_EXPANSION = 1100
_SMALL = 1 << 20


def check_storage(ds, what):
    """Refuse a dataset that declares far more data than the file stores for it (a crafted
    ``shape=(10**6, 10**6)`` with nothing written), so that the shapes a file declares, which
    bound what a load may allocate, are backed by the file's own bytes."""
    if ds.external or ds.is_virtual:
        raise H5Error(f"{what}: dataset {ds.name!r} keeps its data in other files (an "
                      "external or virtual dataset); rnncore reads only the file's own data")
    declared = int(np.prod(ds.shape or (), dtype=np.int64)) * ds.dtype.itemsize
    if declared <= _SMALL:
        return
    try:
        stored = ds.id.get_storage_size()
    except (OSError, ValueError, RuntimeError) as exc:
        raise H5Error(f"{what}: dataset {ds.name!r} cannot be read ({exc})") from None
    if stored * _MAX_EXPANSION < declared:
        raise H5Error(f"{what}: dataset {ds.name!r} declares shape {tuple(ds.shape)} "
                      f"({declared:,} bytes) but the file stores {stored:,} bytes for it: the "
                      "file is crafted or damaged")


def write_array(parent, name, value):
    value = np.asarray(value)
    parent.create_dataset(name, data=value)


def read_strings(obj, name, what):
    """A list-of-strings attribute as Keras writes it, chunks (name0, name1, ...) included."""
    attrs = obj.attrs
    try:
        if name in attrs:
            values = list(np.atleast_1d(attrs[name]))
        else:
            values, k = [], 0
            while f"{name}{k}" in attrs:
                values += list(np.atleast_1d(attrs[f"{name}{k}"]))
                k += 1
            if k == 0:
                raise H5Error(f"{what}: {obj.name!r} has no attribute {name!r}")
    except (OSError, TypeError) as exc:
        raise H5Error(f"{what}: cannot read attribute {name!r} of {obj.name!r} ({exc})") \
            from None
    out = []
    for v in values:
        if isinstance(v, (bytes, np.bytes_)):
            v = v.decode("utf-8", "replace")
        if not isinstance(v, str):  # Keras writes an empty list as an empty float array
            raise H5Error(f"{what}: attribute {name!r} of {obj.name!r} holds {v!r}, expected "
                          "strings")
        out.append(str(v))
    return out


def write_strings(obj, name, values):
    """Write a list of strings as Keras's ``save_attributes_to_hdf5_group`` does: as bytes,
    split into name0, name1, ... when longer than an object header holds."""
    data = [v.encode("utf-8") for v in values]
    if not data:
        obj.attrs[name] = np.array([], dtype=np.float64)  # what Keras writes for none
        return
    array = np.asarray(data)
    chunks = 1
    while array.nbytes / chunks > _ATTR_LIMIT:
        chunks += 1
    if chunks == 1:
        obj.attrs[name] = array
        return
    for k, part in enumerate(np.array_split(array, chunks)):
        obj.attrs[f"{name}{k}"] = part


def read_text_attr(obj, name, what):
    try:
        value = obj.attrs.get(name)
    except (OSError, TypeError) as exc:
        raise H5Error(f"{what}: cannot read attribute {name!r} ({exc})") from None
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("utf-8")
    return value
