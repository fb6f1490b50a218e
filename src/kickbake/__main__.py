"""`python -m kickbake`: the same program as the `kickbake` command."""

from kickbake.cli import main

main()
