"""The GraphQL documents the fetch side sends: one page of each organisation list, and each
repository with everything that decides who may land and deploy code.
"""

REPO_PAGE = 25  # repositories per GraphQL page: keeps each query far below GitHub's node limit

MEMBERS_QUERY = """
query($org: String!, $after: String) { organization(login: $org) {
  membersWithRole(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    edges { role node { login name email databaseId } } } } }
"""

SAML_QUERY = """
query($org: String!, $after: String) { organization(login: $org) { samlIdentityProvider {
  externalIdentities(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    nodes { samlIdentity { nameId emails { value } } user { login } } } } } }
"""

TEAMS_QUERY = """
query($org: String!, $after: String) { organization(login: $org) {
  teams(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    nodes { databaseId slug name privacy parentTeam { slug }
      members(first: 100, membership: IMMEDIATE) { totalCount pageInfo { hasNextPage endCursor }
        edges { role node { login name } } } } } } }
"""

TEAM_MEMBERS_QUERY = """
query($org: String!, $slug: String!, $after: String) { organization(login: $org) { team(slug: $slug) {
  members(first: 100, after: $after, membership: IMMEDIATE) { pageInfo { hasNextPage endCursor }
    edges { role node { login name } } } } } }
"""

_ACTOR = ("actor { __typename ... on User { login databaseId } ... on Team { slug databaseId } "
          "... on App { slug name databaseId } }")
# GitHub reads CODEOWNERS from the first of these that exists (docs: "About code owners").
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
_BLOB = "... on Blob { text isBinary isTruncated byteSize }"
REPOS_QUERY = """
query($org: String!, $after: String, $first: Int!) { organization(login: $org) {
  repositories(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    nodes {
      databaseId name nameWithOwner isArchived isFork visibility
      defaultBranchRef { name branchProtectionRule { id } }
      branchProtectionRules(first: 50) { totalCount nodes {
        id pattern requiresApprovingReviews requiredApprovingReviewCount isAdminEnforced
        requireLastPushApproval requiresCodeOwnerReviews dismissesStaleReviews restrictsPushes
        blocksCreations lockBranch
        pushAllowances(first: 50) { totalCount nodes { %(actor)s } }
        bypassPullRequestAllowances(first: 50) { totalCount nodes { %(actor)s } }
        matchingRefs(first: 50) { totalCount nodes { name } } } }
      rulesets(first: 50, includeParents: true) { totalCount nodes {
        databaseId name enforcement target
        source { __typename ... on Repository { nameWithOwner } ... on Organization { login } ... on Enterprise { slug } }
        conditions { refName { include exclude } }
        rules(first: 50) { totalCount nodes { type parameters { __typename
          ... on PullRequestParameters { requiredApprovingReviewCount requireLastPushApproval requireCodeOwnerReview
                                         dismissStaleReviewsOnPush } } } } } }
      environments(first: 50) { totalCount nodes { name } }
      workflows: object(expression: "HEAD:.github/workflows") { ... on Tree {
        entries { name type object { %(blob)s } } } }
      codeownersGithub: object(expression: "HEAD:.github/CODEOWNERS") { %(blob)s }
      codeownersRoot: object(expression: "HEAD:CODEOWNERS") { %(blob)s }
      codeownersDocs: object(expression: "HEAD:docs/CODEOWNERS") { %(blob)s }
    } } } }
""" % {"actor": _ACTOR, "blob": _BLOB}
