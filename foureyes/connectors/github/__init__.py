"""GitHub and GitHub Actions: who can push, merge unreviewed, approve, administer and deploy.

connector.py     GitHubConnector: [sources.github] → SourceResult (fetch, then translate)
api.py           PyGithub's requester and retry, one client per thread, counted and rate-limited
queries.py       the GraphQL documents
fetch.py         reads the organisation, teams, repositories, rulesets, environments, OIDC
payloads.py      API payloads → OrgData, TeamData, RepoData: the fetch/translate contract
translate.py     org base permission, owners, teams, collaborators, roles → grants, pure
context.py       the organisation's lookups during translation: teams, nesting, roles, holdings
protection.py    classic protection and rulesets: who lands a change without approval
actions.py       environments, reviewers, branch policies, CI contexts (translation)
workflows.py     workflow files: jobs, environments, the cloud identities they take on

Importing this package imports nothing else; PyGithub is imported when a request is made.
"""
