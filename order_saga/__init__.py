"""The create-order saga of the reference architecture: its definition (``sagas.py``, found by
the platform's saga engine like ``admin.py`` by the admin) and the schemas of the commands it
sends (``schemas/``). Installed with the sagas service; it imports no other app."""
