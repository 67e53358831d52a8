"""Keras's ``keras.tree``: functions over nested structures of lists, tuples, namedtuples and
dicts, with Keras's rules.

* The leaves are everything else, ``None`` included (arrays, strings, numbers).
* A dict's values are visited in sorted key order (insertion order when the keys do not
  sort, and always for an OrderedDict), so ``flatten({"b": 1, "a": 2}) == [2, 1]``; a
  rebuilt dict keeps its own key order.
* Two structures match when each node has the same kind (a list is not a tuple; dicts of any
  mapping class match on their keys) and the same length or keys.

>>> flatten({"b": [1, (2, None)], "a": 3})
[3, 1, 2, None]
>>> map_structure(lambda x: x * 10, [1, (2, 3)])
[10, (20, 30)]
"""
import collections

__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path",
           "is_nested", "lists_to_tuples", "map_structure", "map_structure_up_to",
           "pack_sequence_as", "traverse"]


class _MapToNone:
    """What a ``traverse`` function returns to put None in place of a sub-structure."""

    def __repr__(self):
        return "keras.utils.tree.MAP_TO_NONE"


MAP_TO_NONE = _MapToNone()


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_nested(structure):
    """Whether ``structure`` is a list, tuple, namedtuple or dict (not a leaf)."""
    return isinstance(structure, (list, tuple, dict, collections.abc.Mapping))


def _keys(mapping):
    if isinstance(mapping, collections.OrderedDict):
        return list(mapping)
    try:
        return sorted(mapping)
    except TypeError:  # keys of several types
        return list(mapping)


def _children(node):
    """(keys, values) of a nested node, in Keras's visiting order."""
    if isinstance(node, collections.abc.Mapping):
        keys = _keys(node)
        return keys, [node[k] for k in keys]
    return list(range(len(node))), list(node)


def _rebuild(node, values):
    """A node like ``node`` holding ``values`` (in visiting order)."""
    if isinstance(node, collections.abc.Mapping):
        by_key = dict(zip(_keys(node), values))
        items = [(k, by_key[k]) for k in node]
        if isinstance(node, collections.defaultdict):
            return type(node)(node.default_factory, items)
        return type(node)(items)
    if _is_namedtuple(node):
        return type(node)(*values)
    return type(node)(values)


def _kind(node):
    return "mapping" if isinstance(node, collections.abc.Mapping) else type(node)


def flatten(structure):
    """The leaves of ``structure``, depth first, as a list (a leaf gives ``[leaf]``)."""
    if not is_nested(structure):
        return [structure]
    return [leaf for child in _children(structure)[1] for leaf in flatten(child)]


def flatten_with_path(structure):
    """``(path, leaf)`` for each leaf, the path being the tuple of keys and indices that
    reach it."""
    if not is_nested(structure):
        return [((), structure)]
    keys, values = _children(structure)
    return [((key,) + path, leaf) for key, value in zip(keys, values)
            for path, leaf in flatten_with_path(value)]


def _check_same(a, b):
    """Raise a ValueError naming the first place where ``b`` does not have ``a``'s shape."""
    if not is_nested(a):
        if is_nested(b):
            raise ValueError("Structures don't have the same nested structure.")
        return
    if not is_nested(b):
        raise ValueError(f"Expected an instance of {type(a).__name__}, got {b!r}.")
    if _kind(a) != _kind(b):
        raise ValueError(f"Expected an instance of {type(a).__name__}, got {b!r}.")
    if isinstance(a, collections.abc.Mapping):
        if set(a) != set(b):
            expected, got = _keys(a), _keys(b)
            missing = [k for k in expected if k not in b]
            extra = [k for k in got if k not in a]
            raise ValueError(f"dictionary key mismatch; expected key(s): {expected}, got "
                             f"key(s): {got}, missing key(s): {missing}, extra key(s): "
                             f"{extra}; dict: {b!r}.")
    elif len(a) != len(b):
        raise ValueError(f"{type(a).__name__} arity mismatch; expected: {len(a)}, got: "
                         f"{len(b)}; {type(a).__name__}: {b!r}.")
    for x, y in zip(_children(a)[1], _children(b)[1]):
        _check_same(x, y)


def assert_same_structure(a, b, check_types=None):
    """Raise a ValueError unless ``a`` and ``b`` nest the same way (same kinds of node, same
    lengths and keys). ``check_types`` is accepted and ignored, as in Keras."""
    _check_same(a, b)


def assert_same_paths(a, b):
    """Raise a ValueError unless ``a`` and ``b`` have leaves at the same paths (the looser
    check: a list and a tuple of the same length match), naming the paths only one has."""
    a_paths = {path for path, _ in flatten_with_path(a)}
    b_paths = {path for path, _ in flatten_with_path(b)}
    if a_paths != b_paths:
        message = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            message += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            message += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(message)


def map_structure(func, *structures, none_is_leaf=True):
    """``func`` applied leaf by leaf across ``structures`` (which must match), in the shape of
    the first. With ``none_is_leaf=False``, a None leaf is kept as None, not passed to
    ``func``."""
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func!r}")
    if not structures:
        raise ValueError("Must provide at least one structure")
    for other in structures[1:]:
        _check_same(structures[0], other)

    def apply(*nodes):
        if not is_nested(nodes[0]):
            if not none_is_leaf and nodes[0] is None:
                return None
            return func(*nodes)
        return _rebuild(nodes[0], [apply(*children) for children in
                                   zip(*(_children(n)[1] for n in nodes))])
    return apply(*structures)


def _check_up_to(shallow, deep):
    if not is_nested(shallow):
        return
    if not is_nested(deep) or _kind(shallow) != _kind(deep):
        raise ValueError(f"Expected an instance of {type(shallow).__name__}, got {deep!r}.")
    if isinstance(shallow, collections.abc.Mapping):
        if set(shallow) != set(deep):
            raise ValueError(f"dictionary key mismatch; expected key(s): {_keys(shallow)}, "
                             f"got key(s): {_keys(deep)}; dict: {deep!r}.")
    elif len(shallow) != len(deep):
        raise ValueError(f"{type(shallow).__name__} arity mismatch; expected: {len(shallow)}, "
                         f"got: {len(deep)}; {type(shallow).__name__}: {deep!r}.")
    for s, d in zip(_children(shallow)[1], _children(deep)[1]):
        _check_up_to(s, d)


def map_structure_up_to(shallow_structure, func, *structures):
    """Like :func:`map_structure`, but only as deep as ``shallow_structure``: ``func`` gets
    the sub-structures of ``structures`` found where ``shallow_structure`` has leaves."""
    for structure in structures:
        _check_up_to(shallow_structure, structure)

    def apply(shallow, *nodes):
        if not is_nested(shallow):
            return func(*nodes)
        return _rebuild(shallow, [apply(s, *children) for s, *children in
                                  zip(_children(shallow)[1],
                                      *(_children(n)[1] for n in nodes))])
    return apply(shallow_structure, *structures)


def pack_sequence_as(structure, flat_sequence):
    """``flat_sequence``'s items put back into ``structure``'s shape (the inverse of
    :func:`flatten`)."""
    if not isinstance(flat_sequence, (list, tuple)):
        raise TypeError(f"`flat_sequence` must be a list or tuple. Received: "
                        f"flat_sequence={flat_sequence!r:.80} of type "
                        f"{type(flat_sequence).__name__}")
    expected = len(flatten(structure))
    if len(flat_sequence) != expected:
        few = "few" if len(flat_sequence) < expected else "many"
        raise ValueError(f"Too {few} leaves for the structure; expected: {expected}, got: "
                         f"{len(flat_sequence)}.")
    items = iter(flat_sequence)

    def fill(node):
        if not is_nested(node):
            return next(items)
        return _rebuild(node, [fill(child) for child in _children(node)[1]])
    return fill(structure)


def lists_to_tuples(structure):
    """``structure`` with every list made a tuple."""
    def convert(node):
        if not is_nested(node):
            return node
        values = [convert(child) for child in _children(node)[1]]
        return tuple(values) if isinstance(node, list) else _rebuild(node, values)
    return convert(structure)


def traverse(func, structure, top_down=True):
    """Visit every sub-structure and leaf depth first, calling ``func`` on each.

    Top-down (parents first): where ``func`` returns something other than None, that replaces
    the sub-structure and its children are not visited. Bottom-up: children first, and a
    result other than None replaces the sub-structure. ``MAP_TO_NONE`` replaces it by None.
    """
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func!r}")

    def result(value, original):
        if value is None:
            return original
        return None if value is MAP_TO_NONE else value

    def visit(node):
        if top_down:
            out = func(node)
            if out is not None:
                return None if out is MAP_TO_NONE else out
        rebuilt = node
        if is_nested(node):
            rebuilt = _rebuild(node, [visit(child) for child in _children(node)[1]])
        return rebuilt if top_down else result(func(rebuilt), rebuilt)
    return visit(structure)
