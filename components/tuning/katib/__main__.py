"""``python -m components.tuning.katib``: see :mod:`components.tuning.katib.cli`."""

from components.tuning.katib.cli import main

raise SystemExit(main())
