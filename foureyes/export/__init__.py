"""Exports: revocation tickets with exact remediation, GitHub issues, the evidence report.

`remediation` turns a grant and its path into commands; `tickets` builds and renders the
tickets; `github_issues` files them as issues; `report` writes the auditor's evidence.
"""
