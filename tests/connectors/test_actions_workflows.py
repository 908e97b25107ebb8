"""Workflow parsing (pure): environments, OIDC permissions and the cloud identities jobs take on."""

from __future__ import annotations

from foureyes.connectors.github.workflows import parse_workflow


def test_environment_and_aws_role_in_a_job():
    scan = parse_workflow("deploy.yml", """
on:
  push: {branches: [main]}
permissions: {id-token: write, contents: read}
jobs:
  build: {runs-on: ubuntu-latest, steps: [{run: make}]}
  deploy:
    environment: production
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with: {role-to-assume: "arn:aws:iam::111111111111:role/deploy", aws-region: eu-west-1}
""")
    assert scan.errors == []
    build, deploy = scan.jobs
    assert build.environment is None and build.identities == () and build.id_token is True  # workflow-level permission
    assert deploy.environment == "production"
    assert deploy.identities == ("assume arn:aws:iam::111111111111:role/deploy",)
    assert scan.uses_oidc and scan.identities_for("production") == ["assume arn:aws:iam::111111111111:role/deploy"]


def test_environment_as_a_mapping_and_gcp_workload_identity():
    scan = parse_workflow("gcp.yml", """
on: workflow_dispatch
jobs:
  ship:
    environment: {name: prod-eu, url: "https://x"}
    permissions: {id-token: write}
    steps:
      - uses: google-github-actions/auth@v2
        with:
          workload_identity_provider: projects/1/locations/global/workloadIdentityPools/gh/providers/gh
          service_account: deployer@p.iam.gserviceaccount.com
""")
    (job,) = scan.jobs
    assert job.environment == "prod-eu" and job.id_token
    assert job.identities == ("impersonate deployer@p.iam.gserviceaccount.com via "
                              "projects/1/locations/global/workloadIdentityPools/gh/providers/gh",)


def test_job_permissions_override_the_workflow_and_no_oidc_is_seen_as_such():
    scan = parse_workflow("ci.yml", """
on: [pull_request]
permissions: write-all
jobs:
  test: {permissions: {contents: read}, steps: [{uses: actions/checkout@v4}]}
""")
    assert scan.jobs[0].id_token is False and not scan.uses_oidc


def test_reusable_workflow_and_expression_environment_are_recorded_literally():
    scan = parse_workflow("call.yml", """
on: push
jobs:
  call: {uses: acme/shared/.github/workflows/deploy.yml@main}
  pick: {environment: "${{ inputs.target }}", steps: []}
""")
    call, pick = scan.jobs
    assert call.reusable == "acme/shared/.github/workflows/deploy.yml@main"
    assert pick.environment == "${{ inputs.target }}"


def test_invalid_yaml_is_an_error_with_its_line_not_an_exception():
    scan = parse_workflow("broken.yml", "on: push\njobs:\n  a: [unclosed\n")
    assert scan.jobs == [] and scan.errors == [("broken.yml", "not valid YAML at line 4")]
    assert parse_workflow("empty.yml", "just text").errors == [("empty.yml", "no jobs mapping")]
