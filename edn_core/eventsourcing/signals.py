"""Signals of the event store (Django signals: edn_core cannot import the apps that listen)."""

from django.dispatch import Signal

__all__ = ["subject_forgotten"]

# Sent by ``edn_forget`` after a data subject's key was destroyed, with ``app_label``,
# ``subject`` and ``stream_ids`` (the streams holding that subject's sealed fields):
# projections re-project those streams so their read models hold only redacted values.
subject_forgotten = Signal()
