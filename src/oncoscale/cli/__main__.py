"""``python -m oncoscale.cli``: the oncoscale command."""

from oncoscale.cli import main

main()
