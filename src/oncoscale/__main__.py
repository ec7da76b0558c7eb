"""``python -m oncoscale``: the oncoscale command."""

from oncoscale.cli import main

main()
