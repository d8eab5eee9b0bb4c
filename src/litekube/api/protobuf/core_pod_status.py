"""Message descriptors for core/v1 Pod and PodStatus (typed clients other than kubectl may send pods).

Field numbers are the upstream `k8s.io/api/core/v1` protobuf tags; the text form is explained in
`schema.py`. Status fields for features litekube does not run (extended resource claims, resource
health) are left out and skipped by number.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "Pod": "1 metadata ObjectMeta; 2 spec PodSpec; 3 status PodStatus",
    "PodStatus": """
        17 observedGeneration int64; 1 phase string; 2 conditions PodCondition[]; 3 message string
        4 reason string; 11 nominatedNodeName string; 5 hostIP string; 16 hostIPs HostIP[]; 6 podIP string
        12 podIPs PodIP[]; 7 startTime Time; 10 initContainerStatuses ContainerStatus[]
        8 containerStatuses ContainerStatus[]; 9 qosClass string; 13 ephemeralContainerStatuses ContainerStatus[]
        14 resize string; 15 resourceClaimStatuses PodResourceClaimStatus[]; 19 allocatedResources {Quantity}
        20 resources ResourceRequirements
    """,
    "PodCondition": """
        1 type string!; 7 observedGeneration int64; 2 status string!; 3 lastProbeTime Time
        4 lastTransitionTime Time; 5 reason string; 6 message string
    """,
    "HostIP": "1 ip string!",
    "PodIP": "1 ip string!",
    "PodResourceClaimStatus": "1 name string!; 2 resourceClaimName string?",
    "ContainerStatus": """
        1 name string!; 2 state ContainerState; 3 lastState ContainerState; 4 ready bool!; 5 restartCount int32!
        6 image string!; 7 imageID string!; 8 containerID string; 9 started bool?
        10 allocatedResources {Quantity}; 11 resources ResourceRequirements; 12 volumeMounts VolumeMountStatus[]
        13 user ContainerUser; 15 stopSignal string?
    """,
    "ContainerState": """
        1 waiting ContainerStateWaiting; 2 running ContainerStateRunning; 3 terminated ContainerStateTerminated
    """,
    "ContainerStateWaiting": "1 reason string; 2 message string",
    "ContainerStateRunning": "1 startedAt Time",
    "ContainerStateTerminated": """
        1 exitCode int32!; 2 signal int32; 3 reason string; 4 message string; 5 startedAt Time
        6 finishedAt Time; 7 containerID string
    """,
    "ContainerUser": "1 linux LinuxContainerUser",
    "LinuxContainerUser": "1 uid int64!; 2 gid int64!; 3 supplementalGroups int64[]",
    "VolumeMountStatus": "1 name string!; 2 mountPath string!; 3 readOnly bool; 4 recursiveReadOnly string?",
}
