"""URLconf of the benchmarks: the project's own routes plus the plain DRF baseline."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from bench.baseline import PlainCustomerViewSet
from config.urls import handler400, handler404, handler500
from config.urls import urlpatterns as project_urlpatterns

router = SimpleRouter(trailing_slash=False)
router.register("plain-customers", PlainCustomerViewSet, basename="plain-customers")

urlpatterns = [*project_urlpatterns, path("bench/", include(router.urls))]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
