"""The project's URLs plus the Dapr app routes (as config/urls.py mounts them under Dapr)."""

import config.urls as project
from edn_core.dapr_app import urlpatterns as dapr_urlpatterns

handler400, handler404, handler500 = project.handler400, project.handler404, project.handler500
urlpatterns = [*dapr_urlpatterns, *project.urlpatterns]
