"""The service proxy: Services and EndpointSlices → one nftables table (kube-proxy's nftables mode).

model.py (API objects → ServicePort) → rules.py (→ Ruleset, pure) → apply.py (nft transaction)
→ proxier.py (informers, rate-limited sync loop, LoadBalancer status). docs/services.md tells more.
"""

from litekube.proxy.proxier import ServiceProxy, build_proxy

__all__ = ["ServiceProxy", "build_proxy"]
