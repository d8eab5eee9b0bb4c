"""The Kubernetes version litekube reports and implements.

kubectl picks behaviour (and, for the dispatcher build, even a binary) from the server's
/version, so we report the same minor as the kubectl we pin and as the schemas we load.
"""

KUBERNETES_MAJOR = "1"
KUBERNETES_MINOR = "36"
KUBERNETES_GIT_VERSION = "v1.36.4"
# Directory inside the kubernetes-validate package holding the upstream definitions we use.
SCHEMA_VERSION_DIR = "v1.36.0-local"
