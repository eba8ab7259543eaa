"""Every per-service list of a project, generated from its one list of service apps
(``<project>/services.py``) and the topics each app declares it publishes and handles.

``python manage.py edn_wiring write`` writes the files; ``edn_wiring check`` lists every file
that differs from what the code says (the test suite runs it), so a service added to the list
needs no hand-edited list elsewhere and a hand edit that drifts fails the build.
"""

from edn_core.wiring.files import drift, generated_files, write
from edn_core.wiring.services import Service, services

__all__ = ["Service", "drift", "generated_files", "services", "write"]
