"""GitHub and GitHub Actions: who can push, merge unreviewed, approve, administer and deploy.

connector.py     GitHubConnector: [sources.github] → SourceResult (fetch, then translate)
api.py           PyGithub's requester and retry, one client per thread, counted and rate-limited
queries.py       the GraphQL documents
fetch.py         reads the organisation, teams, repositories, rulesets, environments, OIDC
payloads.py      API payloads → OrgData, TeamData, RepoData: the fetch/translate contract
translate.py     org base permission, owners, teams, collaborators, roles → grants, pure
context.py       the organisation's lookups during translation: teams, nesting, roles, holdings
protection.py    classic protection and rulesets, layer by layer: who lands a change, creates a ref alone
codeowners.py    CODEOWNERS: who must approve which paths when code-owner review is required
actions.py       environments, reviewers, branch and tag policies, CI contexts (translation)
triggers.py      pull_request_target and other default-branch runs that outsiders can start
workflows.py     workflow files: triggers, jobs, environments, the cloud identities they take on

Importing this package imports nothing else; PyGithub is imported when a request is made.
"""
