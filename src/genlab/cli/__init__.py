"""The ``genlab`` command-line tool: one module per command group."""
