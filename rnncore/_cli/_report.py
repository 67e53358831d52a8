"""Tables (plain text and Markdown), JSON files and the demo's curves plot."""
import json
import math
import os

from ._engines import ENGINE_TITLES


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------
def _missing(value):
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def rate(value):
    """``12,345`` samples/s (3 significant digits below 100)."""
    if _missing(value):
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def ratio(value):
    """A speed-up: ``12.3x``."""
    return "-" if _missing(value) else f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def seconds(value):
    if _missing(value):
        return "-"
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def number(value, digits=4):
    return "-" if _missing(value) else f"{value:.{digits}f}"


def title(engine):
    return ENGINE_TITLES.get(engine, engine)


def speedups(rates):
    """rnncore's speed-up over each peer and over the fastest peer.

    ``rates`` maps engine to a speed (higher is faster; None or missing where not measured).
    Returns ``({peer: ratio or None}, best peer or None, ratio over it or None)``.
    """
    ours = rates.get("rnncore")
    peers = {e: r for e, r in rates.items() if e != "rnncore" and r}
    ratios = {e: ours / r if ours else None for e, r in peers.items()}
    best = max(peers, key=peers.get) if peers else None
    return ratios, best, ratios.get(best)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------
def text_table(headers, rows, left=1):
    """Fixed-width table; the first ``left`` columns are left-aligned, the rest right."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(headers[i]), *(len(r[i]) for r in cells)) for i in range(len(headers))]

    def line(values):
        out = [v.ljust(w) if i < left else v.rjust(w)
               for i, (v, w) in enumerate(zip(values, widths))]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(r) for r in cells])


def markdown_table(headers, rows, left=1):
    """GitHub Markdown table with the same alignment rule as :func:`text_table`."""
    align = ["---" if i < left else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)
    return path


def write_text(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


_COLORS = {"rnncore": "tab:red", "keras": "tab:blue", "jax": "tab:purple", "torch": "tab:green"}


def plot_curves(path, runs, heading):
    """PNG of loss and accuracy per epoch: train solid, validation dashed, one colour per engine.

    ``runs`` maps engine name to its History dict. Returns ``path``, or raises ImportError
    when matplotlib is missing.
    """
    # A bare Figure renders with Agg and leaves pyplot (and the user's backend) alone.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.4))
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for engine, history in runs.items():
            color = _COLORS.get(engine)
            for key, style, label in ((metric, "-", "train"), (f"val_{metric}", "--", "val")):
                values = history.get(key)
                if values:
                    epochs = range(1, len(values) + 1)
                    # rnncore's line is drawn wide and pale so that Keras's, which should
                    # lie on top of it, stays visible
                    wide = engine == "rnncore"
                    ax.plot(epochs, values, style, marker="o", markersize=5 if wide else 3,
                            color=color, linewidth=4 if wide else 1.5,
                            alpha=0.45 if wide else 1.0, label=f"{title(engine)} {label}")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(heading, fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
