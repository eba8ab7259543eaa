"""Django settings of the reference architecture: the platform's settings for its service apps
(``config/services.py``), read from the environment. docs/configuration.md lists every variable.
"""

from pathlib import Path

from config.services import SAGA_APPS, SERVICE_APPS
from edn_core.project.settings import platform_settings

BASE_DIR = Path(__file__).resolve().parent.parent

globals().update(platform_settings(BASE_DIR, SERVICE_APPS, saga_apps=SAGA_APPS, project="config"))

# Order events kept in a stream for the analytics service's statistics (docs/streams.md); the
# log is EDN_STREAMS_LOG's (the database by default: zero services in development)
EDN_STREAMS = {
    "orders": {
        "topics": ["v1.OrderPlaced", "v1.OrderShipped", "v1.OrderCancelled"],
        "partitions": 8,
        "retention": "P7D",
    }
}
