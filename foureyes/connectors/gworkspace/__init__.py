"""Google Workspace through the Admin SDK Directory API (google-api-python-client): people
with suspended/archived state, manager relation, organisational unit and department, recently
deleted users, and groups with their (derived) members. Read only.

The package is `gworkspace`, not `workspace`: `foureyes.workspace` is the application layer.
Its source name in config is `google_workspace`.

fetch.py       the discovery-based client (imported only when this source runs), paged by nextPageToken
translate.py   pure: Directory payloads -> person records, groups, memberships, gaps
connector.py   `[sources.google_workspace]`
"""
