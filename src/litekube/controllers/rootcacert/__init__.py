"""Root CA publisher: the `kube-root-ca.crt` ConfigMap in every namespace."""

from litekube.controllers.rootcacert.controller import ROOT_CA_CONFIG_MAP, RootCACertPublisher

__all__ = ["ROOT_CA_CONFIG_MAP", "RootCACertPublisher"]
