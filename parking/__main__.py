"""``python -m parking`` is the ``parking`` command."""

from parking.cli import main

main()
