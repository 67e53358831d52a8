"""``model.save``/``save_weights``/``load_model``/``load_weights``: the file formats Keras
uses, chosen by file name as Keras chooses, and written atomically.

- ``.keras``: Keras 3's ZIP (``config.json``, ``metadata.json``, ``model.weights.h5``), see
  ``_keras_files``;
- ``.weights.h5``: Keras 3's weights-only HDF5 (the same ``model.weights.h5``);
- ``.h5``/``.hdf5``: legacy HDF5 as tf.keras and Keras 2 wrote it, see ``_legacy_h5``.

Loading goes by the file's content (so files of rnncore's former ZIP format, ``_former_zip``,
still load under any name). Nothing in a file is ever run: see ``_keras_reading.check_safe``.

Files are written to a temporary file in the same directory, synced, and moved into place
with ``os.replace``, so a crash mid-write never leaves a broken file where a good one was.
The temporary file is named ``.<name>.rnncore-tmp-<host>-<pid>-<random>``; each save removes
those of writers on this machine whose process has died (killed mid-save), never one that a
live process is still writing. Saved files get the permissions ``open(path, "w")`` would give:
``0o666`` less the umask for a new file, the existing file's mode when overwriting one; a
symbolic link is followed, as ``open`` does, and its target replaced.
"""
import contextlib
import os
import re
import secrets
import socket
import stat
import zipfile

from . import _former_zip, _hdf5, _keras_files, _legacy_h5

# ---- writing --------------------------------------------------------------------------------
def _host():
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:40] or "host"


_TMP_TAG = ".rnncore-tmp-"
_TMP_NAME = re.compile(r"^\..*\.rnncore-tmp-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]{8}$")


def _pid_alive(pid):
    if pid == os.getpid() or os.name != "posix":
        # another thread of this process may be writing it; elsewhere than POSIX, os.kill
        # would end the process rather than probe it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: alive, another user's
        return True
    return True


def _remove_stale_temps(directory):
    """Remove the temporary files that rnncore writers on this machine left in `directory`
    when they died mid-save (kill -9, out of memory): those whose writer's process no longer
    runs. A file of a live writer is never touched."""
    host = _host()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        m = _TMP_NAME.match(entry.name)
        if m and m["host"] == host and not _pid_alive(int(m["pid"])):
            with contextlib.suppress(OSError):  # another saver removed it first
                if entry.is_file(follow_symlinks=False):
                    os.remove(entry.path)


def _create_temp(directory, filepath):
    base = os.path.basename(filepath)[:120]  # the name must stay under NAME_MAX
    while True:
        tmp = os.path.join(directory, f".{base}{_TMP_TAG}{_host()}-{os.getpid()}-"
                                      f"{secrets.token_hex(4)}")
        try:
            # 0o666 less the umask, the mode open(path, "w") gives a new file (mkstemp: 0o600)
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue


def _fsync_directory(directory):
    # the rename itself is durable only once the directory is synced (POSIX)
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(filepath, write, overwrite):
    filepath = os.fspath(filepath)
    if os.path.isdir(filepath):
        raise IsADirectoryError(f"{filepath!r} is a directory: give the path of a file to save "
                                "to")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath!r} exists and overwrite=False")
    if os.path.islink(filepath):
        # write where the link points, as open(path, "w") does, rather than replace the link
        filepath = os.path.realpath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    _remove_stale_temps(directory)
    keep_mode = None
    with contextlib.suppress(OSError):
        st = os.stat(filepath)
        if stat.S_ISREG(st.st_mode):
            keep_mode = stat.S_IMODE(st.st_mode)  # open(path, "w") keeps an existing file's mode
    tmp, fd = _create_temp(directory, filepath)
    try:
        with os.fdopen(fd, "wb") as f:
            if keep_mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), keep_mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _suffix_error(filepath):
    return ValueError("Invalid filepath extension for saving. Please add either a `.keras` "
                      "extension for the native Keras format (recommended) or a `.h5` "
                      "extension (legacy HDF5, what tf.keras and Keras 2 wrote). "
                      f"Received: filepath={filepath}")


def save_model(model, filepath, overwrite=True, include_optimizer=True, save_format=None,
               **kwargs):
    """Write `model` in the Keras format its file name chooses, as ``keras.saving.save_model``:
    ``.keras`` (Keras 3's ZIP) or ``.h5``/``.hdf5`` (legacy HDF5). Keras 2's ``save_format``
    is accepted where the name already chooses a format, as Keras 3 accepts it."""
    name = str(os.fspath(filepath))
    if save_format and not name.endswith((".keras", ".h5", ".hdf5")):
        raise ValueError("The `save_format` argument is deprecated in Keras 3. Please remove "
                         "this argument and pass a file path with either `.keras` or `.h5` "
                         f"extension. Received: save_format={save_format}")
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    if name.endswith(".keras"):
        writer = _keras_files.write_keras
    elif name.endswith((".h5", ".hdf5")):
        writer = _legacy_h5.write
    else:
        raise _suffix_error(name)
    from ._sequential import Sequential

    # Keras writes a Sequential that was never built (its layers' configs, no weights; it
    # builds on its first call once loaded); a subclassed model unbuilt has no input shape to
    # rebuild it from
    if not model.built and not isinstance(model, Sequential):
        raise ValueError(f"Model {model.name!r} is not built yet: fit it or call it on data "
                         "before saving")
    _atomic_write(filepath, lambda f: writer(model, f, include_optimizer), overwrite)


def save_weights(model, filepath, overwrite=True):
    """Write `model`'s weights to a Keras 3 ``.weights.h5`` file."""
    name = str(os.fspath(filepath))
    if not name.endswith(".weights.h5"):
        hint = ""
        if name.endswith((".h5", ".hdf5", ".keras")):
            hint = (" (to save the whole model, architecture included, in that file use "
                    "model.save)")
        raise ValueError(f"The filename must end in `.weights.h5`.{hint} Received: "
                         f"filepath={name}")
    if not model.built:
        raise ValueError(f"Model {model.name!r} is not built yet: nothing to save")
    _atomic_write(filepath, lambda f: _keras_files.write_weights_h5(model, f), overwrite)


def _sniff(filepath):
    """What a file holds, by its first bytes: "rnncore" (rnncore's former ZIP format),
    "keras" (a .keras ZIP), "hdf5", or None."""
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file at {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory, not a model file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
            return "keras" if str(path).endswith(".keras") else "rnncore"
        return "rnncore" if _former_zip.INDEX in names else "keras"
    if head.startswith(b"\x89HDF"):
        return "hdf5"
    return None


def _unknown_format(filepath):
    path = os.fspath(filepath)
    if str(path).endswith(".weights.json"):
        return ValueError(f"{path!r} is the index of sharded Keras weights, which rnncore "
                          "does not read; save them unsharded (model.save_weights("
                          "'x.weights.h5')) in Keras")
    with open(path, "rb") as f:
        head = f.read(8)
    found = "is empty" if not head else f"starts with {head!r}"
    return ValueError(f"File format not supported: filepath={path!r} {found}, which is neither "
                      "a ZIP archive (Keras's .keras, or rnncore's former format) nor an HDF5 "
                      "file (.weights.h5, legacy .h5)")


def load_weights(model, filepath, skip_mismatch=False):
    """Set `model`'s weights from a ``.keras``, ``.weights.h5`` or legacy ``.h5`` file (or one
    of rnncore's former format), chosen by the file's content."""
    kind = _sniff(filepath)
    if not model.built:
        raise ValueError(f"Model {model.name!r} is not built yet: build it (or call it on "
                         "data) before load_weights")
    if kind == "rnncore":
        return _former_zip.load_weights(model, filepath)
    if kind == "keras":
        return _keras_files.load_weights_keras(model, filepath, skip_mismatch)
    if kind == "hdf5":
        with _hdf5.open_read(filepath, repr(os.fspath(filepath))) as h5:
            legacy = "layer_names" in h5.attrs or "layer_names0" in h5.attrs or \
                _hdf5.has(h5, "model_weights")
        if legacy:
            return _legacy_h5.load_weights(model, filepath, skip_mismatch)
        return _keras_files.load_weights_h5(model, filepath, skip_mismatch)
    raise _unknown_format(filepath)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model from a ``.keras`` file or a legacy ``.h5`` file (or one of rnncore's former
    format), as ``keras.models.load_model``: architecture, weights, compile settings and the
    optimizer's state. Loading never runs code stored in the file (see ``safe_mode``).

    Parameters
    ----------
    filepath : str or path.
    custom_objects : dict, the program's own classes by name (custom layers and cells, a
        subclassed model), as in Keras; classes registered with
        ``keras.saving.register_keras_serializable`` need not be given. A class the file names
        that is neither rnncore's, registered nor given here is refused, naming it.
    compile : bool, compile the model with the file's settings (default True).
    safe_mode : bool, Keras's flag; rnncore refuses code stored in a file (a ``Lambda``) in
        both modes, with an error naming the layer.
    """
    kind = _sniff(filepath)
    if kind == "rnncore":
        return _former_zip.load_model(filepath, compile)
    if kind == "keras":
        return _keras_files.load_keras(filepath, compile, safe_mode, custom_objects)
    if kind == "hdf5":
        return _legacy_h5.load_model(filepath, compile, safe_mode, custom_objects)
    raise _unknown_format(filepath)
