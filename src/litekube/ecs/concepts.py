"""The ECS ↔ Kubernetes concept table printed by `litekube ecs explain`.

Rows follow the four comparison tables of the seed document (Pod, Deployment, Service,
Ingress sections of seed/000_8ce3631260a5a412.txt), each with the aspect in the seed's
Japanese and in English, plus the kubectl command that shows the Kubernetes side live.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rich.table import Table


@dataclass(frozen=True)
class Concept:
    section: str
    aspect_ja: str
    aspect: str
    ecs: str
    kubernetes: str
    command: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


CONCEPTS: tuple[Concept, ...] = (
    Concept("Pod", "最小単位", "smallest unit", "Task", "Pod", "kubectl get pods -o wide"),
    Concept(
        "Pod",
        "コンテナ数",
        "containers",
        "several containers per task",
        "several containers per Pod",
        "kubectl get pods -o jsonpath='{.items[*].spec.containers[*].name}'",
    ),
    Concept(
        "Pod",
        "ネットワーク",
        "network",
        "ENI per task (awsvpc)",
        "shared network namespace, one IP per Pod",
        "kubectl get pods -o wide",
    ),
    Concept(
        "Pod",
        "ストレージ",
        "storage",
        "task volumes shared by containers",
        "Pod volumes shared by containers",
        "kubectl describe pod <pod>",
    ),
    Concept(
        "Pod",
        "ライフサイクル",
        "lifecycle",
        "task stops: all containers stop",
        "Pod deleted: all containers go",
        "kubectl get events --sort-by=.lastTimestamp",
    ),
    Concept(
        "Deployment",
        "レプリカ管理",
        "replica management",
        "desired count",
        "spec.replicas",
        "kubectl get deployments",
    ),
    Concept(
        "Deployment",
        "ヘルスチェック",
        "health check",
        "target group health check / container healthCheck",
        "liveness / readiness / startup probes",
        "kubectl describe pod <pod>",
    ),
    Concept(
        "Deployment",
        "デプロイ戦略",
        "deployment strategy",
        "rolling update (min healthy / max percent)",
        "RollingUpdate (maxUnavailable / maxSurge) and more",
        "kubectl rollout status deployment/<name>",
    ),
    Concept(
        "Deployment",
        "ロールバック",
        "rollback",
        "register the old task definition again",
        "kubectl rollout undo",
        "kubectl rollout history deployment/<name>",
    ),
    Concept(
        "Deployment",
        "スケーリング",
        "scaling",
        "update the service",
        "kubectl scale",
        "kubectl scale deployment/<name> --replicas=3",
    ),
    Concept(
        "Deployment",
        "自動復旧",
        "self-healing",
        "tasks replaced automatically",
        "Pods recreated automatically",
        "kubectl get replicasets",
    ),
    Concept(
        "Service",
        "内部通信",
        "internal traffic",
        "service discovery (Cloud Map / Service Connect)",
        "ClusterIP Service",
        "kubectl get services",
    ),
    Concept(
        "Service",
        "外部公開",
        "external exposure",
        "ALB / NLB",
        "LoadBalancer Service",
        "kubectl get services -o wide",
    ),
    Concept(
        "Service",
        "ポート公開",
        "port publishing",
        "host port mapping",
        "NodePort Service",
        "kubectl get services",
    ),
    Concept(
        "Service",
        "DNS解決",
        "DNS",
        "servicename.namespace",
        "servicename.namespace.svc.cluster.local",
        "kubectl run -it --rm dns-test --image=busybox --restart=Never -- nslookup <service>",
    ),
    Concept(
        "Service",
        "ヘルスチェック",
        "health check",
        "target group",
        "Service endpoints (Ready Pods only)",
        "kubectl get endpoints",
    ),
    Concept(
        "Service",
        "負荷分散",
        "load balancing",
        "ALB / NLB",
        "kube-proxy (here: nftables rules)",
        "kubectl describe service <service>",
    ),
    Concept(
        "Ingress",
        "L7ルーティング",
        "L7 routing",
        "target group rules",
        "Ingress rules",
        "kubectl get ingress",
    ),
    Concept(
        "Ingress",
        "SSL終端",
        "TLS termination",
        "ACM integration",
        "TLS Secret",
        "kubectl get secrets --field-selector type=kubernetes.io/tls",
    ),
    Concept(
        "Ingress",
        "パスベースルーティング",
        "path routing",
        "listener rules",
        "path rules",
        "kubectl describe ingress <ingress>",
    ),
    Concept(
        "Ingress",
        "ホストベースルーティング",
        "host routing",
        "host header rules",
        "host rules",
        "kubectl describe ingress <ingress>",
    ),
    Concept(
        "Ingress",
        "認証",
        "authentication",
        "Cognito / OIDC",
        "external auth (controller specific)",
        "kubectl get ingress -o yaml",
    ),
    Concept(
        "Ingress",
        "アノテーション",
        "annotations",
        "ALB Ingress Controller",
        "Ingress-controller specific",
        "kubectl get ingressclass",
    ),
)


def concept_table() -> Table:
    table = Table(title="AWS ECS ↔ Kubernetes (from the seed guide)")
    for column in ("area", "aspect", "AWS ECS", "Kubernetes", "see it live"):
        table.add_column(column, overflow="fold")
    for row in CONCEPTS:
        table.add_row(
            row.section, f"{row.aspect} ({row.aspect_ja})", row.ecs, row.kubernetes, f"litekube {row.command}"
        )
    return table
