"""CQRS: commands and their outcomes, and the HTTP side of commands and queries (selectors).

Import the messages from here anywhere; the view classes need Django's settings loaded.
"""

from edn_core.cqrs.messages import Answer, Command, CommandResult, Outcome, handles, send

__all__ = ["Answer", "Command", "CommandResult", "Outcome", "handles", "send"]
