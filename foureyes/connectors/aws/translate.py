"""What the AWS connector read, turned into principals, grants, edges and gaps (pure functions).

IAM users, groups and roles with their decided capabilities (`iam.py`), trust policies as
edges and GitHub OIDC trust as workload patterns (`trust.py`), and IAM Identity Center
users, groups and assignments (`identity_center.py`). The fetch side (`fetch.py`) fills
`AccountRead` and `SsoRead` (`reads.py`); `translate` never does I/O, so it is tested on
recorded payloads too.
"""

from __future__ import annotations

from typing import Sequence

from ...config import AwsSource, Config
from ..base import SourceBuilder
from .capabilities import Catalogue
from .escalation import add_escalations
from .iam import Translator
from .identity_center import add_identity_center
from .reads import AccountRead, SsoRead
from .trust import add_trust


def translate(accounts: Sequence[AccountRead], sso: SsoRead | None, *, config: Config, source: AwsSource,
              catalogue: Catalogue | None = None, partition: str = "aws") -> SourceBuilder:
    """Principals, resources, grants, edges and gaps for everything that was read."""
    t = Translator(config, source, catalogue, partition)
    for account in accounts:
        t.add_account(account)
    for account in accounts:
        if account.iam is not None:
            t.add_iam(account)
    t.holders()
    t.decide()
    t.grants()
    add_trust(t)
    add_escalations(t)
    if sso is not None:
        add_identity_center(t, sso)
    return t.out
