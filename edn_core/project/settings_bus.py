"""Event bus settings: the transport (local, Celery on RabbitMQ or Redis, Dapr), the schema
registry, Celery, streams and the saga engine. docs/configuration.md lists every variable."""

from django.core.exceptions import ImproperlyConfigured

__all__ = ["bus_settings"]


def upper_names(names: dict) -> dict:
    """The settings among ``names`` (a function's ``locals()``): the upper-case ones."""
    return {name: value for name, value in names.items() if name.isupper()}


def bus_settings(env, hosted: list[str], *, whole: bool) -> dict:
    """The bus of a process hosting ``hosted``; ``whole``: it hosts every service app."""
    debug = env.bool("DJANGO_DEBUG", default=False)
    EDN_BUS_TRANSPORT = env.str("EDN_BUS_TRANSPORT", default="local")
    EDN_BUS = {
        "max_attempts": env.int("EDN_BUS_MAX_ATTEMPTS", default=5),
        "retry_base_seconds": env.float("EDN_BUS_RETRY_BASE_SECONDS", default=1.0),
        "retry_max_seconds": env.float("EDN_BUS_RETRY_MAX_SECONDS", default=300.0),
        "relay_batch": env.int("EDN_BUS_RELAY_BATCH", default=1000),
        "message_batch": env.int("EDN_BUS_MESSAGE_BATCH", default=100),
        "sweep_seconds": env.float("EDN_BUS_SWEEP_SECONDS", default=5.0),
        "inbox_ttl_days": env.int("EDN_BUS_INBOX_TTL_DAYS", default=7),
        "sent_retention_days": env.int("EDN_BUS_SENT_RETENTION_DAYS", default=7),
        # The in-process relay delivers only to this process: never the default for a process
        # hosting a subset of the apps, where it would mark events sent that others never got.
        "in_process": env.bool(
            "EDN_BUS_IN_PROCESS", default=EDN_BUS_TRANSPORT == "local" and whole
        ),
    }
    # Dapr (EDN_BUS_TRANSPORT=dapr, docs/dapr.md): the sidecar's APIs, and the tokens each side
    # sends (DAPR_API_TOKEN: app -> sidecar; APP_API_TOKEN: sidecar -> app, checked by /dapr/
    # routes). The relay publishes over gRPC with the Dapr SDK, or over HTTP (decision 0040);
    # the SDK waits for the sidecar's HTTP health endpoint before its first call, at most
    # EDN_DAPR_HEALTH_TIMEOUT_SECONDS (not the SDK's 60 s).
    DAPR_HOST = env.str("DAPR_HOST", default="127.0.0.1")
    DAPR_HTTP_PORT = env.int("DAPR_HTTP_PORT", default=3500)
    DAPR_GRPC_PORT = env.int("DAPR_GRPC_PORT", default=50001)
    DAPR_API_TOKEN = env.str("DAPR_API_TOKEN", default="")
    EDN_DAPR_PUBLISH_API = env.str("EDN_DAPR_PUBLISH_API", default="grpc")
    if EDN_DAPR_PUBLISH_API not in ("grpc", "http"):
        raise ImproperlyConfigured("EDN_DAPR_PUBLISH_API must be grpc or http")
    EDN_DAPR_HEALTH_TIMEOUT_SECONDS = env.float("EDN_DAPR_HEALTH_TIMEOUT_SECONDS", default=5.0)
    APP_API_TOKEN = env.str("APP_API_TOKEN", default="")
    if EDN_BUS_TRANSPORT == "dapr" and not APP_API_TOKEN and not debug:
        raise ImproperlyConfigured("APP_API_TOKEN is required with EDN_BUS_TRANSPORT=dapr")
    EDN_DAPR_PUBSUB = env.str("EDN_DAPR_PUBSUB", default="pubsub")
    EDN_DAPR_BULK_PUBLISH = env.bool("EDN_DAPR_BULK_PUBLISH", default=True)
    EDN_DAPR_BULK_SUBSCRIBE = env.bool("EDN_DAPR_BULK_SUBSCRIBE", default=False)
    EDN_DAPR_DEAD_LETTER_TOPIC = env.str("EDN_DAPR_DEAD_LETTER_TOPIC", default="{topic}.deadletter")
    EDN_DAPR_TIMEOUT_SECONDS = env.float("EDN_DAPR_TIMEOUT_SECONDS", default=10.0)
    EDN_DAPR_MAX_BODY_BYTES = env.int("EDN_DAPR_MAX_BODY_BYTES", default=4 * 1024 * 1024)

    # Schema registry: hosted here (schema_registry in EDN_SERVICES) or reached over HTTP.
    EDN_SCHEMA_REGISTRY_URL = env.str("EDN_SCHEMA_REGISTRY_URL", default="")
    EDN_SCHEMA_REGISTRY_TOKEN = env.str("EDN_SCHEMA_REGISTRY_TOKEN", default="")
    EDN_SCHEMA_REGISTRY_TIMEOUT_SECONDS = env.float(
        "EDN_SCHEMA_REGISTRY_TIMEOUT_SECONDS", default=3.0
    )
    EDN_SCHEMA_VALIDATION = env.bool("EDN_SCHEMA_VALIDATION", default=True)
    EDN_SCHEMA_LATEST_TTL = env.float("EDN_SCHEMA_LATEST_TTL", default=60.0)
    EDN_SCHEMA_MAX_BYTES = env.int("EDN_SCHEMA_MAX_BYTES", default=64 * 1024)
    EDN_SCHEMA_MAX_DEPTH = env.int("EDN_SCHEMA_MAX_DEPTH", default=32)
    EDN_SCHEMA_MAX_SUBSCHEMAS = env.int("EDN_SCHEMA_MAX_SUBSCHEMAS", default=1000)

    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
    # Prefix of the event exchange and queues on the broker (<namespace>.events, <namespace>.<app>).
    EDN_BROKER_NAMESPACE = env.str("EDN_BROKER_NAMESPACE", default="edn")
    CELERY_TASK_ACKS_LATE = True
    CELERY_TASK_REJECT_ON_WORKER_LOST = True
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1
    # No remote control (``celery inspect``/``control``): nothing here uses it, and its
    # auto-delete "pidbox" queue could be gone when the worker consumed it again after a broker
    # outage, which Celery treats as unrecoverable: the worker exited mid-backlog
    # ("NotFound … celery.pidbox", seen in tests/faults/test_broker_outage.py under load).
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = env.bool("EDN_CELERY_REMOTE_CONTROL", default=False)
    # Redis has no acks: kombu keeps a consumer's unacked messages aside and puts them back only
    # once they are this old (its default is an hour, so the events a killed worker held waited
    # an hour). A message redelivered while still in work is dropped by the inbox, so it can be
    # short. Looked for every 10 s (kombu's interval, not every 10th one). RabbitMQ ignores it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("EDN_BROKER_VISIBILITY_TIMEOUT", default=300),
        "unacked_restore_throttle": 1,
    }
    CELERY_BEAT_SCHEDULE = {
        "relay-outbox": {"task": "edn.relay_outbox", "schedule": EDN_BUS["sweep_seconds"]},
        "cleanup-bus": {"task": "edn.cleanup_bus", "schedule": 3600.0},
    }
    # Streams (edn_core/streams/conf.py; which events feed which stream: EDN_STREAMS, set by
    # the project): the log of streams that name none, the brokers, how long ids are kept
    EDN_STREAMS_LOG = env.str("EDN_STREAMS_LOG", default="database")
    EDN_STREAMS_REDIS_URL = env.str("EDN_STREAMS_REDIS_URL", default="")
    EDN_STREAMS_NATS_URL = env.str("EDN_STREAMS_NATS_URL", default="")
    EDN_STREAMS_DEDUP_WINDOW = env.str("EDN_STREAMS_DEDUP_WINDOW", default="P1D")
    # how long a saga step waits for its reply by default before it compensates
    EDN_SAGA_STEP_TIMEOUT_SECONDS = env.float("EDN_SAGA_STEP_TIMEOUT_SECONDS", default=30.0)
    if "sagas" in hosted:  # fail saga steps whose reply is overdue, and compensate
        CELERY_BEAT_SCHEDULE["saga-timeouts"] = {
            "task": "sagas.expire_overdue_steps",
            "schedule": 1.0,
        }
    return upper_names(locals())
