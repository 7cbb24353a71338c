"""``python -m counter_client.refplatform``: the same CLI as ``counter-platform``."""

import sys

from counter_client.refplatform.cli import main

if __name__ == "__main__":
    sys.exit(main())
