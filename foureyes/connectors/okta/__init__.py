"""Okta: people with their status and profile (manager, department, title, employee number),
groups and memberships, and app assignments for GitHub, AWS and Google Cloud. Read only.

fetch.py       the `okta` SDK (imported only when this source runs), paged by Link headers
translate.py   pure: Okta payloads -> person records, groups, memberships, gaps
connector.py   `[sources.okta]`
"""
