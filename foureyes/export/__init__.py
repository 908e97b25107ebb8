"""Exports: revocation tickets with exact remediation, GitHub issues, the evidence report.

`remediation` turns a grant and the path that gives it into the commands that remove it.
"""
