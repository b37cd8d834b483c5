"""The bundle's executable: the same `frontdesk` command as the pip-installed script."""

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
