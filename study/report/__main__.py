"""python -m study.report results/<name>"""

import sys

from study.report.cli import main

sys.exit(main())
