"""The GraphQL documents the fetch side sends: one page of each organisation list, each repository
with everything that decides who may land and deploy code, and the rest of a truncated list.

What a query costs is GitHub's documented score (`cost.py`): a nested list is paid once per
possible parent, whatever its own size. So lists with nothing inside them are asked 100 at a
time, lists with lists inside them (protection rules, rulesets) a few at a time, sized per page
from what earlier pages held (`fetch.RepoPager`), and only a list that did not fit is read
further, through ``node(id:)``.
"""

REPO_PAGES = range(25, 51)  # repositories per batch; more waits on GitHub's 10 s timeout with workflow files
NESTED = range(1, 11)  # protection rules or rulesets per repository in its batch
RULES_MORE = 33  # protection rules per later page: 1 + 33 × 3 nested lists = 100 requests, 1 point
RULESETS_MORE = 49  # rulesets per later page: 1 + 49 × 2 nested lists = 99 requests, 1 point
RATE = "rateLimit { cost remaining resetAt }"

MEMBERS_QUERY = """
query($org: String!, $after: String) { organization(login: $org) {
  membersWithRole(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    edges { role node { login name email databaseId } } } } %s }
""" % RATE

SAML_QUERY = """
query($org: String!, $after: String) { organization(login: $org) { samlIdentityProvider {
  externalIdentities(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    nodes { samlIdentity { nameId emails { value } } user { login } } } } } %s }
""" % RATE

_TEAM_REPOS = ("repositories(first: 100%s) { totalCount pageInfo { hasNextPage endCursor } "
               "edges { permission node { nameWithOwner } } }")

TEAMS_QUERY = """
query($org: String!, $after: String) { organization(login: $org) {
  teams(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    nodes { id databaseId slug name privacy parentTeam { slug }
      members(first: 100, membership: IMMEDIATE) { totalCount pageInfo { hasNextPage endCursor }
        edges { role node { login name } } }
      %s } } } %s }
""" % (_TEAM_REPOS % "", RATE)

TEAM_MEMBERS_QUERY = """
query($org: String!, $slug: String!, $after: String) { organization(login: $org) { team(slug: $slug) {
  members(first: 100, after: $after, membership: IMMEDIATE) { pageInfo { hasNextPage endCursor }
    edges { role node { login name } } } } } %s }
""" % RATE

TEAM_REPOS_QUERY = """
query($id: ID!, $after: String) { node(id: $id) { ... on Team { %s } } %s }
""" % (_TEAM_REPOS % ", after: $after", RATE)

_ACTOR = ("actor { __typename ... on User { login databaseId } ... on Team { slug databaseId } "
          "... on App { slug name databaseId } }")
_PAGE = "totalCount pageInfo { hasNextPage endCursor }"
# GitHub reads CODEOWNERS from the first of these that exists (docs: "About code owners").
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
_BLOB = "... on Blob { text isBinary isTruncated byteSize }"

# The lists inside a protection rule and a ruleset, each with what a later page asks for.
RULE_LISTS = {
    "pushAllowances": "nodes { %s }" % _ACTOR,
    "bypassPullRequestAllowances": "nodes { %s }" % _ACTOR,
    "matchingRefs": "nodes { name }",
}
RULESET_LISTS = {
    "rules": ("nodes { type parameters { __typename ... on PullRequestParameters { requiredApprovingReviewCount "
              "requireLastPushApproval requireCodeOwnerReview dismissStaleReviewsOnPush } } }"),
    "bypassActors": ("nodes { %s bypassMode organizationAdmin repositoryRoleDatabaseId repositoryRoleName deployKey "
                     "enterpriseOwner }" % _ACTOR.replace("... on User { login databaseId } ", "")),
}
_RULE = ("id pattern requiresApprovingReviews requiredApprovingReviewCount isAdminEnforced requireLastPushApproval "
         "requiresCodeOwnerReviews dismissesStaleReviews restrictsPushes blocksCreations lockBranch "
         + " ".join(f"{name}(first: 100) {{ {_PAGE} {fields} }}" for name, fields in RULE_LISTS.items()))
_RULESET = ("id databaseId name enforcement target "
            "source { __typename ... on Repository { nameWithOwner } ... on Organization { login } "
            "... on Enterprise { slug } } conditions { refName { include exclude } } "
            + " ".join(f"{name}(first: 100) {{ {_PAGE} {fields} }}" for name, fields in RULESET_LISTS.items()))
# Lists of a repository that hold no list: asked 100 at a time.
REPO_LISTS = {
    "environments": "nodes { name }",
    "collaborators": ("edges { permission permissionSources { roleName source { __typename } } "
                      "node { login databaseId } }"),
}
_REPO_LIST_ARGS = {"collaborators": ", affiliation: DIRECT"}

# The organisation's repositories, names only: a cheap cursor chain (1 point a page) whose pages
# are read in parallel batches (`repos_query`), the archived and excluded ones not at all.
REPO_NAMES_QUERY = """
query($org: String!, $after: String) { organization(login: $org) {
  repositories(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id name nameWithOwner isArchived } } } %s }
""" % RATE

_REPO = """fragment Repo on Repository {
  id databaseId name nameWithOwner isArchived isFork visibility
  defaultBranchRef { name branchProtectionRule { id } }
  branchProtectionRules(first: $rules) { %(page)s nodes { %(rule)s } }
  rulesets(first: $rulesets, includeParents: true) { %(page)s nodes { %(ruleset)s } }
  %(lists)s
  workflows: object(expression: "HEAD:.github/workflows") { ... on Tree {
    entries { name type object { %(blob)s } } } }
  codeownersGithub: object(expression: "HEAD:.github/CODEOWNERS") { %(blob)s }
  codeownersRoot: object(expression: "HEAD:CODEOWNERS") { %(blob)s }
  codeownersDocs: object(expression: "HEAD:docs/CODEOWNERS") { %(blob)s }
}""" % {"page": _PAGE, "rule": _RULE, "ruleset": _RULESET, "blob": _BLOB,
        "lists": "\n  ".join(f"{name}(first: 100{_REPO_LIST_ARGS.get(name, '')}) {{ {_PAGE} {fields} }}"
                              for name, fields in REPO_LISTS.items())}


def repos_query(count: int) -> str:
    """``count`` repositories by node id (``$r0`` …), each under its alias ``r0`` …: GitHub scores each
    alias on its own, so a batch costs what a page of as many repositories would."""
    ids = "".join(f", $r{i}: ID!" for i in range(count))
    nodes = " ".join(f"r{i}: node(id: $r{i}) {{ ...Repo }}" for i in range(count))
    return f"query($rules: Int!, $rulesets: Int!{ids}) {{ {nodes} {RATE} }}\n{_REPO}\n"


REPOS_QUERY = repos_query(2)  # the shape every batch has (tests validate it against GitHub's schema)


def _more(owner: str, field: str, selection: str, args: str = "") -> str:
    return ("query($id: ID!, $after: String) { node(id: $id) { ... on %s { %s(first: %%(first)s, after: $after%s) "
            "{ %s %s } } } %s }" % (owner, field, args, _PAGE, selection, RATE))


# The rest of a list that did not fit: (owner type, list) -> query, with $id the owner's node id.
MORE_QUERIES = {
    ("Repository", "branchProtectionRules"): _more("Repository", "branchProtectionRules", f"nodes {{ {_RULE} }}")
    % {"first": RULES_MORE},
    ("Repository", "rulesets"): _more("Repository", "rulesets", f"nodes {{ {_RULESET} }}", ", includeParents: true")
    % {"first": RULESETS_MORE},
    **{("Repository", name): _more("Repository", name, fields, _REPO_LIST_ARGS.get(name, "")) % {"first": 100}
       for name, fields in REPO_LISTS.items()},
    **{("BranchProtectionRule", name): _more("BranchProtectionRule", name, fields) % {"first": 100}
       for name, fields in RULE_LISTS.items()},
    **{("RepositoryRuleset", name): _more("RepositoryRuleset", name, fields) % {"first": 100}
       for name, fields in RULESET_LISTS.items()},
}
