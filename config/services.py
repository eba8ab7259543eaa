"""The service apps of this project: the one list every per-service file is generated from or
checked against (``python manage.py edn_wiring check``; ``edn_startservice`` adds to it).

Each service app owns the database alias named after it; ``EDN_SERVICES`` picks those a
process hosts. ``SAGA_APPS`` hold saga definitions (``<app>/sagas.py``) and are installed
wherever ``sagas`` is hosted.
"""

SERVICE_APPS = ("customers", "orders", "inventory", "sagas", "schema_registry", "analytics")
SAGA_APPS = ("order_saga",)
