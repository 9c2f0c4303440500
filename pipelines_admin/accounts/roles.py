"""The console's roles, as Django groups.

- viewer: reads everything.
- editor: also creates config versions and changes unprotected environments.
- publisher: also releases to, and changes, protected environments.
- reviewer: reads everything, and decides the applications a rule sent to review
  (claims a case, reveals a field with a reason, approves or declines).
Superusers do everything.
"""

VIEWER = "viewer"
EDITOR = "editor"
PUBLISHER = "publisher"
REVIEWER = "reviewer"
ROLES = (VIEWER, EDITOR, PUBLISHER, REVIEWER)
