"""The rule engine and the default rule pack (TOML files shipped in this package).

`pack` loads and validates rules, `engine` decides them, `waivers` handles exceptions,
`fixtures` runs each rule's must-fire / must-not-fire cases.
"""

from .engine import Exposure, Finding, evaluate, finding_id
from .pack import Requirement, Rule, RulePack, load_pack, load_rule_file
from .waivers import Waiver, load_waivers

__all__ = [
    "Exposure", "Finding", "Requirement", "Rule", "RulePack", "Waiver",
    "evaluate", "finding_id", "load_pack", "load_rule_file", "load_waivers",
]
