"""``python -m trainkit``: the same as the ``trainkit`` command."""

from .cli import main

main()
