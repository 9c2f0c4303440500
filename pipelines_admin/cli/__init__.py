"""The command line as an interface: management commands that change what an environment
runs go through changes.services.change_submit, as the console and the API do, so they
sit on the interfaces' layer (releases, below changes, cannot call it)."""
