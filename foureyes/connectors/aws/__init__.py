"""AWS: accounts, IAM, SCPs and IAM Identity Center, read with boto3 and decided by the policy evaluator.

connector.py       AwsConnector: [sources.aws] → SourceResult (fetch, then translate)
api.py             boto3 clients, bounded retries, request counts, safe failure text
fetch.py           reads accounts, Organizations, IAM and Identity Center into `reads.py` values
reads.py           what the fetch side read (AccountRead, SsoRead): the fetch/translate contract
translate.py       the translation's steps, pure: `iam.py`, `trust.py`, `identity_center.py`
capabilities.py    the deploy/admin catalogue and the capability decider
policy.py          the IAM policy evaluator (one module by design)

Importing this package imports nothing else; the registry imports `connector` when the
source runs, and only `api`, `fetch` and `connector` import boto3.
"""
