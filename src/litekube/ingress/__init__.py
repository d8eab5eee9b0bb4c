"""The Ingress controller: Ingress objects served by a real nginx, as ingress-nginx serves them.

Modules, in the order data flows through them:
- `annotations`: `nginx.ingress.kubernetes.io/*` annotations → `LocationOptions` (+ problems);
- `certificates`: TLS Secrets → checked PEM bundles (0600 files), the default certificate;
- `model`: Ingress/IngressClass/Service/EndpointSlice/Secret dicts → `RoutingModel` (pure);
- `nginx_conf`: `RoutingModel` → nginx.conf text (pure, golden-file tested);
- `nginx_process`: run, validate (`nginx -t`), reload (SIGHUP), supervise and stop nginx;
  `FakeNginx` beside it for tests;
- `controller`: `IngressController` wiring informers → model → render → nginx, Events, status.

See docs/ingress.md for what is supported.
"""

from litekube.ingress.controller import IngressController, build_ingress_controller
from litekube.ingress.model import RoutingModel, build_model
from litekube.ingress.nginx_conf import RenderConfig, render
from litekube.ingress.nginx_process import FakeNginx, NginxProcess

__all__ = [
    "FakeNginx",
    "IngressController",
    "NginxProcess",
    "RenderConfig",
    "RoutingModel",
    "build_ingress_controller",
    "build_model",
    "render",
]
