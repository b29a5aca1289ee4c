"""``python -m careplus_spark`` is the ``careplus`` command."""

import sys

from careplus_spark.cli import main

sys.exit(main())
