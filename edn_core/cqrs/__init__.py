"""CQRS: commands and queries, their outcomes, and the HTTP side of both.

Import the messages from here anywhere; the view classes need Django's settings loaded.
"""

from edn_core.cqrs.messages import Command, CommandResult, Outcome, Query, handles, send

__all__ = ["Command", "CommandResult", "Outcome", "Query", "handles", "send"]
