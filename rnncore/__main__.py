"""``python -m rnncore`` (or the ``rnncore`` script): the demo and the benchmark.

::

    python -m rnncore demo     # seed 001's LSTM: rnncore and its peers side by side
    python -m rnncore bench    # the seeds' models x engines, train and predict speed

The peers are Keras on TensorFlow, Keras on JAX and PyTorch, each where installed.

``python -m rnncore`` alone prints this help. ``python -m rnncore demo --help`` lists the
demo's options (data set, cell, units, layers, epochs, samples, ...).
"""
import argparse
import sys

_DESCRIPTION = ("rnncore trains recurrent networks on the CPU with Keras's API. These commands "
                "show how much faster it is than Keras (on TensorFlow and on JAX) and PyTorch, "
                "on the same models.")


def build_parser():
    from ._cli import bench, demo

    parser = argparse.ArgumentParser(prog="python -m rnncore", description=_DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="{demo,bench}")
    subparsers = {}
    for name, command in (("demo", demo), ("bench", bench)):
        subparsers[name] = sub.add_parser(name, description=command.DESCRIPTION,
                                          help=command.HELP)
        command.add_arguments(subparsers[name])
    return parser, subparsers


def main(argv=None):
    """Entry point; returns the exit status (argparse exits with 2 on a bad option)."""
    parser, subparsers = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from ._cli import bench, demo

    if args.command == "demo":
        demo.check_arguments(subparsers["demo"], args)
        try:
            return demo.run(args)
        except demo._data.DataError as exc:
            subparsers["demo"].exit(1, f"{subparsers['demo'].prog}: error: {exc}\n")
    return bench.run(args)


if __name__ == "__main__":
    sys.exit(main())
