"""The console's roles, as Django groups.

- viewer: reads everything.
- editor: also creates config versions and changes unprotected environments.
- publisher: also releases to, and changes, protected environments.
Superusers do everything.
"""

VIEWER = "viewer"
EDITOR = "editor"
PUBLISHER = "publisher"
ROLES = (VIEWER, EDITOR, PUBLISHER)
