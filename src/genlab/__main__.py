"""``python -m genlab`` runs the command-line tool."""

from genlab.cli.main import main

raise SystemExit(main())
