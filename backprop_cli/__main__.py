"""The `backprop` program (also `python -m backprop_cli`).

The heavy modules import only after Python has started this one, so a Ctrl-C at any
moment, even in the first second while they import, ends the run quietly with exit
code 130, as it does later.
"""

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def main() -> None:
    try:
        from backprop_cli.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
