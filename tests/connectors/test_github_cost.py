"""GitHub's GraphQL rate-limit score and node limit, in the fake and in the connector's estimate.

The worked examples are GitHub's own ("Rate limits and query limits for the GraphQL API",
github/docs content/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api.md):
the score example (5,101 requests, 51 points) and the two node-limit examples (550 and 22,060
nodes). The fake charges every query that score, reports it in ``rateLimit``, and keeps the
GraphQL budget apart from the REST one, as GitHub does.
"""

from __future__ import annotations

import pytest
from github import Auth, Github

from fakes.github_cost import query_cost
from fakes.github_server import FakeGitHub, SecondaryLimits, load_fixture
from foureyes.connectors.github import cost as estimate

# "Predicting the point value of a query": the doc's example, as printed.
DOC_SCORE_EXAMPLE = """
query {
  viewer {
    login
    repositories(first: 100) {
      edges {
        node {
          id

          issues(first: 50) {
            edges {
              node {
                id

                labels(first: 60) {
                  edges {
                    node {
                      id
                      name
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
"""

# "Calculating nodes in a call": the doc's simple and complex queries.
DOC_SIMPLE_NODES = """
query {
  viewer {
    repositories(first: 50) {
      edges {
        repository:node {
          name

          issues(first: 10) {
            totalCount
            edges {
              node {
                title
                bodyHTML
              }
            }
          }
        }
      }
    }
  }
}
"""

DOC_COMPLEX_NODES = """
query {
  viewer {
    repositories(first: 50) {
      edges {
        repository:node {
          name

          pullRequests(first: 20) {
            edges {
              pullRequest:node {
                title

                comments(first: 10) {
                  edges {
                    comment:node {
                      bodyHTML
                    }
                  }
                }
              }
            }
          }

          issues(first: 20) {
            totalCount
            edges {
              issue:node {
                title
                bodyHTML

                comments(first: 10) {
                  edges {
                    comment:node {
                      bodyHTML
                    }
                  }
                }
              }
            }
          }
        }
      }
    }

    followers(first: 10) {
      edges {
        follower:node {
          login
        }
      }
    }
  }
}
"""

# A query GitHub refused (semantic-release/github issue 911): 100 aliased commits, each with
# 100 pull requests of 100 labels: "This query requests up to 1,010,000 possible nodes".
ALIASED = "query { repository(owner: \"o\", name: \"r\") { %s } } fragment F on Commit { oid " \
          "associatedPullRequests(first: 100) { nodes { labels(first: 100) { nodes { name } } } } }" % " ".join(
              f"c{i}: object(oid: \"{i:040d}\") {{ ...F }}" for i in range(100))

EXAMPLES = [  # (query, variables, requests, points, nodes)
    (DOC_SCORE_EXAMPLE, {}, 5101, 51, 100 + 100 * 50 + 100 * 50 * 60),
    (DOC_SIMPLE_NODES, {}, 51, 1, 550),
    (DOC_COMPLEX_NODES, {}, 1 + 50 + 50 * 20 + 50 + 50 * 20 + 1, 21, 22060),
    (ALIASED, {}, 100 + 100 * 100, 101, 1010000),
    ("query($n: Int!) { viewer { login } rateLimit { cost } }", {"n": 5}, 0, 1, 0),  # the minimum: 1 point
    ("query($n: Int = 49) { viewer { followers(first: $n) { nodes { login following(first: 100) { totalCount } } } } }",
     {}, 50, 1, 49 + 4900),  # 0.50 rounds half up
    ("query($n: Int = 49) { viewer { followers(first: $n) { nodes { login following(first: 100) { totalCount } } } } }",
     {"n": 48}, 49, 0 + 1, 48 + 4800),  # 0.49 rounds down, to the minimum
]


@pytest.mark.parametrize("query, variables, requests, points, nodes", EXAMPLES)
def test_the_fakes_formula_on_githubs_documented_examples(query, variables, requests, points, nodes):
    found = query_cost(query, variables)
    assert (found.requests, found.points, found.nodes) == (requests, points, nodes)


@pytest.mark.parametrize("query, variables, requests, points, nodes", EXAMPLES)
def test_the_connectors_estimate_agrees_with_the_fake(query, variables, requests, points, nodes):
    """foureyes predicts each query's score before sending it (the scheduler's GraphQL budget)."""
    found = estimate.query_cost(query, variables)
    assert (found.requests, found.points, found.nodes) == (requests, points, nodes)


@pytest.fixture(scope="module")
def gh():
    with FakeGitHub(load_fixture("scenarios.yaml"), graphql_limit=60) as server:
        yield server


def client(server: FakeGitHub) -> Github:
    return Github(base_url=server.url, auth=Auth.Token("t"), retry=None, seconds_between_requests=None,
                  seconds_between_writes=None)


def test_each_query_is_charged_its_score_against_the_graphql_budget_only(gh):
    requester = client(gh).requester
    query = """query($n: Int!) { organization(login: "acme") { teams(first: $n) { nodes {
      members(first: 100) { totalCount } repositories(first: 100) { totalCount } } } }
      rateLimit { cost nodeCount remaining used limit resetAt } }"""
    used = gh.graphql_used
    headers, data = requester.graphql_query(query, {"n": 100})
    rate = data["data"]["rateLimit"]
    assert rate["cost"] == 2 and rate["nodeCount"] == 100 + 100 * 100 * 2  # 1 + 100 + 100 requests: 2 points
    assert rate["used"] == used + 2 and rate["remaining"] == 60 - rate["used"] and rate["limit"] == 60
    assert headers["x-ratelimit-resource"] == "graphql" and headers["x-ratelimit-remaining"] == str(rate["remaining"])
    _, data = requester.graphql_query(query, {"n": 49})  # 99 requests: rounds to 1
    assert data["data"]["rateLimit"]["cost"] == 1
    rest_before = gh.rate_used
    org = client(gh).get_organization("acme")
    assert org.login == "acme" and gh.rate_used == rest_before + 1 and gh.graphql_used == used + 3


def test_over_the_node_limit_github_refuses_the_query(gh):
    requester = client(gh).requester
    query = """query { organization(login: "acme") { teams(first: 100) { nodes {
      repositories(first: 100) { nodes { collaborators(first: 100) { totalCount } } } } } } }"""
    used = gh.graphql_used
    _, data = requester.requestJsonAndCheck("POST", requester.graphql_url, input={"query": query})
    assert "data" not in data and data["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED"  # 1,010,100 in all
    assert data["errors"][0]["message"] == ("By the time this query traverses to the collaborators connection, it is "
                                            "requesting up to 1,000,000 possible nodes which exceeds the maximum "
                                            "limit of 500,000.")
    assert gh.graphql_used == used  # nothing was run, nothing charged


def test_a_spent_graphql_budget_is_rate_limited_while_rest_goes_on():
    with FakeGitHub(load_fixture("scenarios.yaml"), graphql_limit=2) as server:
        requester = client(server).requester
        query = 'query { organization(login: "acme") { login } }'
        for _ in range(2):
            _, data = requester.requestJsonAndCheck("POST", requester.graphql_url, input={"query": query})
            assert data["data"]["organization"]["login"] == "acme"
        headers, data = requester.requestJsonAndCheck("POST", requester.graphql_url, input={"query": query})
        assert data["errors"][0]["type"] == "RATE_LIMITED" and headers["x-ratelimit-remaining"] == "0"
        assert client(server).get_organization("acme").login == "acme"


def test_secondary_limit_on_points_per_minute_per_endpoint():
    with FakeGitHub(load_fixture("scenarios.yaml"), secondary=SecondaryLimits(rest_per_minute=3)) as server:
        requester = client(server).requester
        for _ in range(3):
            requester.requestJsonAndCheck("GET", "/orgs/acme")
        status, headers, body = requester.requestJson("GET", "/orgs/acme")
        assert status == 403 and "secondary rate limit" in body and int(headers["retry-after"]) >= 1
        status, _, _ = requester.requestJson("GET", "/orgs/acme/outside_collaborators")  # another endpoint
        assert status == 200
