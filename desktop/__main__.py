"""`python -m desktop`: the same as the `frontdesk` script."""

import sys

from desktop.cli import main

sys.exit(main())
