"""GCP: organisation, folder and project IAM, roles, service accounts and workload identity.

connector.py     GcpConnector: [sources.gcp] → SourceResult (fetch, then translate)
fetch.py         Resource Manager, IAM v2 (deny), iam_admin (gRPC), WIF pools, Cloud Identity → Inventory
inventory.py     what the fetch side read (Inventory, Node, Binding …): the fetch/translate contract
translate.py     bindings into grants, deny rules, service-account access, pure
members.py       member strings into principals; groups, domains and the public
iam.py           IAM semantics: members, conditions, deny rules, workload identity trust, the catalogue

Importing this package imports nothing else; the registry imports `connector` when the
source runs, and only `fetch` and `connector` import the Google clients.
"""
