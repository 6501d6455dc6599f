import sys

from krelectra.cli import main

sys.exit(main())
