"""Connectors: one package per audited system (github, aws, gcp, demo), each returning a SourceResult.

Nothing here imports a cloud SDK or Textual at import time; `base.connector_class`
imports a connector module only when that source runs.
"""

from .base import REGISTRY, Connector, Progress, ProgressEvent, connector_class, make_connector

__all__ = ["REGISTRY", "Connector", "Progress", "ProgressEvent", "connector_class", "make_connector"]
