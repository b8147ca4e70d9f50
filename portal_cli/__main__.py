"""`python -m portal_cli`, the same as the `portal-cli` console script."""

from portal_cli.main import main

raise SystemExit(main())
