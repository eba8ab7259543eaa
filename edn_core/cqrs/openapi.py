"""OpenAPI generation that sees through :func:`edn_core.cqrs.routes.resource` dispatchers."""

from django.urls import URLPattern
from drf_spectacular import generators

__all__ = ["SchemaGenerator"]


class EndpointEnumerator(generators.EndpointEnumerator):
    def _get_api_endpoints(self, patterns, prefix):
        if patterns is None:
            patterns = self.patterns
        endpoints = []
        for pattern in patterns:
            views = getattr(getattr(pattern, "callback", None), "method_views", None)
            if isinstance(pattern, URLPattern) and views:
                path_regex = prefix + str(pattern.pattern)
                path = self.get_path_from_regex(path_regex)
                endpoints += [(path, path_regex, method, view) for method, view in views.items()]
            else:
                endpoints += super()._get_api_endpoints([pattern], prefix)
        return endpoints


class SchemaGenerator(generators.SchemaGenerator):
    endpoint_inspector_cls = EndpointEnumerator
