"""The GraphQL documents of activity reading: merged pull requests with their commits, reviews and
merge path in one query, a long pull request's further commits, and environment deployments.

Each is checked against GitHub's published schema by the tests. A page costs one point of
GitHub's GraphQL rate limit: GitHub counts each connection once per parent at its
``first``/``last`` size, so a commit's ``authors`` connection (one per commit, 1,250 per page of
25 pull requests with 50 commits) would cost 13 more; the commit's ``author`` and its message's
``Co-authored-by`` trailers say the same for nothing (benchmarks/README.md).
"""

PR_PAGE = 25  # pull requests per page
PR_COMMITS = 50  # commits per pull request on the first read; longer ones are paged on
PR_REVIEWS = 50
DEPLOY_PAGE = 100

_GIT_ACTOR = "email name user { login }"

PULL_REQUESTS_QUERY = """
query($owner: String!, $name: String!, $branch: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(baseRefName: $branch, states: [MERGED], first: %(page)d, after: $after,
                 orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number title url createdAt updatedAt mergedAt baseRefName headRefOid reviewDecision
        author { __typename login }
        mergedBy { __typename login }
        mergeCommit { oid parents(first: 2) { totalCount } }
        commits(last: %(commits)d) { totalCount nodes { commit {
          oid committedDate message
          author { %(actor)s }
          committer { %(actor)s } } } }
        reviews(first: %(reviews)d, states: [APPROVED, DISMISSED, CHANGES_REQUESTED]) { totalCount nodes {
          author { __typename login } state submittedAt commit { oid } } }
        timelineItems(last: 5, itemTypes: [HEAD_REF_FORCE_PUSHED_EVENT, ADDED_TO_MERGE_QUEUE_EVENT]) { nodes {
          __typename
          ... on HeadRefForcePushedEvent { createdAt actor { __typename login } afterCommit { oid } }
          ... on AddedToMergeQueueEvent { createdAt enqueuer { login } } } }
      }
    }
  }
}
""" % {"page": PR_PAGE, "commits": PR_COMMITS, "reviews": PR_REVIEWS, "actor": _GIT_ACTOR}

PR_COMMITS_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) { pullRequest(number: $number) {
    commits(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { commit {
      oid committedDate message
      author { %(actor)s }
      committer { %(actor)s } } } } } }
}
""" % {"actor": _GIT_ACTOR}

DEPLOYMENTS_QUERY = """
query($owner: String!, $name: String!, $environments: [String!], $after: String) {
  repository(owner: $owner, name: $name) {
    deployments(environments: $environments, first: %(page)d, after: $after,
                orderBy: {field: CREATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        databaseId createdAt environment commitOid task
        ref { name }
        creator { __typename login }
        latestStatus { state logUrl createdAt }
      }
    }
  }
}
""" % {"page": DEPLOY_PAGE}
