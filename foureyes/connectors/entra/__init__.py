"""Microsoft Entra ID through Microsoft Graph (`msgraph-sdk`, the optional extra foureyes[entra]):
people with accountEnabled, manager and department, deleted users, and groups with their
transitive members. Read only.

fetch.py       the Graph SDK (imported only when this source runs), paged by @odata.nextLink
translate.py   pure: Graph payloads -> person records, groups, memberships, gaps
connector.py   `[sources.entra]`
"""
