import sys

from cx_worker.cli import main

sys.exit(main())
