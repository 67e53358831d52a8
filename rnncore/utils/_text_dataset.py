"""Keras's ``text_dataset_from_directory``: a ``tf.data.Dataset`` of the ``.txt`` files of a
folder, labelled by their sub-folder. Keras returns a ``tf.data.Dataset`` and so does rnncore
(its ``fit`` trains on one), so this needs TensorFlow; the files are listed, labelled, split
and shuffled by Keras's rules, so that the same folder and seed give the same batches."""
import os

import numpy as np

from ._progbar import print_msg

_LABEL_MODES = ("int", "categorical", "binary", None)


def _tensorflow():
    try:
        import tensorflow as tf
    except ImportError:
        raise ImportError("text_dataset_from_directory returns a tf.data.Dataset, as Keras's "
                          "does, and needs TensorFlow: pip install tensorflow-cpu") from None
    return tf


def _check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed,
                     format):
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("`labels` argument should be a list/tuple of integer labels, of "
                             "the same size as the number of text files in the target "
                             "directory. If you wish to infer the labels from the "
                             "subdirectory names in the target directory, pass "
                             '`labels="inferred"`. If you wish to get a dataset that only '
                             "contains text samples (no labels), pass `labels=None`. "
                             f"Received: labels={labels}")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in _LABEL_MODES:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", '
                         f"or None. Received: label_mode={label_mode}")
    if format != "tf":
        raise ValueError('`format` should be either "tf" or "grain". Received: '
                         f"format={format}" if format != "grain" else
                         'format="grain" needs the grain package, which rnncore does not use; '
                         'pass format="tf"')
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if bool(validation_split) != bool(subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError('`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must "
                         "provide a `seed` argument, to make sure that there is no overlap "
                         "between the training and validation subset.")


def _text_files(folder, follow_links):
    """The ``.txt`` files under ``folder``, sub-folders in sorted order, names sorted."""
    for root, _, files in sorted(os.walk(folder, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        for name in sorted(files):
            if name.lower().endswith(".txt"):
                yield os.path.join(root, name)


def _index(directory, labels, class_names, follow_links, verbose):
    """(file paths, labels, class names) in Keras's order: class by class."""
    if labels == "inferred":
        folders = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names) <= set(folders):
                raise ValueError("The `class_names` passed did not match the names of the "
                                 "subdirectories of the target directory. Expected: "
                                 f"{folders} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            folders = list(class_names)
        paths, found = [], []
        for index, folder in enumerate(folders):
            files = list(_text_files(os.path.join(directory, folder), follow_links))
            paths += files
            found += [index] * len(files)
        labels, class_names = np.array(found, dtype="int32"), folders
    else:
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be "
                             "specified." if labels is None else
                             "When argument `labels` is specified, argument `class_names` "
                             "cannot be specified (the `class_names` will be the sorted list "
                             "of labels).")
        paths = list(_text_files(directory, follow_links))
        if labels is not None:
            if len(labels) != len(paths):
                raise ValueError("Expected the lengths of `labels` to match the number of "
                                 f"files in the target directory. len(labels) is {len(labels)} "
                                 f"while we found {len(paths)} files in directory "
                                 f"{directory}.")
            class_names = [str(label) for label in sorted(set(labels))]
            labels = list(labels)
    if verbose:
        print_msg(f"Found {len(paths)} files." if labels is None else
                  f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    return paths, labels, class_names


def _split(paths, labels, validation_split, subset):
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if subset == "training":
        print_msg(f"Using {len(paths) - n_val} files for training.")
        part = slice(0, len(paths) - n_val)
    else:
        print_msg(f"Using {n_val} files for validation.")
        part = slice(len(paths) - n_val, len(paths))
    return paths[part], None if labels is None else labels[part]


def _dataset(tf, paths, labels, label_mode, num_classes, max_length, shuffle, buffer, seed):
    ds = tf.data.Dataset.from_tensor_slices(paths)
    if label_mode:
        label_ds = tf.data.Dataset.from_tensor_slices(labels)
        if label_mode == "binary":
            label_ds = label_ds.map(lambda y: tf.expand_dims(tf.cast(y, "float32"), -1))
        elif label_mode == "categorical":
            label_ds = label_ds.map(lambda y: tf.one_hot(y, num_classes))
        ds = tf.data.Dataset.zip((ds, label_ds))
    if shuffle:
        ds = ds.shuffle(buffer_size=buffer, seed=seed)

    def read(path):
        text = tf.io.read_file(path)
        return text if max_length is None else tf.strings.substr(text, 0, max_length)
    if label_mode:
        return ds.map(lambda path, y: (read(path), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None,
                                shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """A ``tf.data.Dataset`` of ``(texts, labels)`` batches from the ``.txt`` files of
    ``directory``.

    With ``labels="inferred"``, each sub-folder of ``directory`` is a class (sorted by name,
    or in the order of ``class_names``) and its files (at any depth) are that class's
    samples: ``label_mode="int"`` gives int32 class indices, ``"categorical"`` one-hot float32
    rows, ``"binary"`` float32 0/1 of shape (batch, 1) for two classes; ``None`` texts only.
    ``labels`` may also be a list of labels, one per file in sorted path order, or None.
    ``validation_split`` with ``subset`` (``"training"``, ``"validation"`` or ``"both"``,
    which returns the pair) keeps the last fraction of the shuffled files for validation;
    ``max_length`` truncates each text to that many bytes. The dataset has ``class_names``.

    >>> train = text_dataset_from_directory("aclImdb/train", batch_size=32,
    ...                                     validation_split=0.2, subset="training", seed=42)
    """
    tf = _tensorflow()
    _check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed,
                     format)
    if labels is None or label_mode is None:
        labels = label_mode = None
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = _index(directory, labels, class_names, follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")
    if shuffle:
        # the files are shuffled, then their labels, by the same seeded draws as Keras's
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    buffer = batch_size * 8 if batch_size is not None else 1024
    num_classes = len(class_names) if class_names else 0
    datasets = []
    for part, part_shuffle in ((("training", shuffle), ("validation", False))
                               if subset == "both" else ((subset, shuffle),)):
        part_paths, part_labels = _split(paths, labels, validation_split, part)
        if not part_paths:
            kind = f"{part} " if subset == "both" else ""
            raise ValueError(f"No {kind}text files found in directory {directory}. Allowed "
                             "format: .txt")
        ds = _dataset(tf, part_paths, part_labels, label_mode, num_classes, max_length,
                      part_shuffle, buffer, seed)
        if batch_size is not None:
            ds = ds.batch(batch_size)
        ds = ds.prefetch(tf.data.AUTOTUNE)
        ds.class_names = class_names
        datasets.append(ds)
    return datasets if subset == "both" else datasets[0]
