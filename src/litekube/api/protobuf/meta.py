"""Message descriptors for apimachinery types: meta/v1, runtime, intstr and resource.

Field numbers are the upstream `k8s.io/apimachinery` protobuf tags; the text form is explained in
`schema.py`. Types whose JSON form is not an object (Time, Quantity, IntOrString, FieldsV1, ...) are
listed here as messages too; `decoder.py` turns them into their JSON scalars.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "TypeMeta": "1 apiVersion string; 2 kind string",
    "ObjectMeta": """
        1 name string; 2 generateName string; 3 namespace string; 4 selfLink string; 5 uid string
        6 resourceVersion string; 7 generation int64; 8 creationTimestamp Time; 9 deletionTimestamp Time
        10 deletionGracePeriodSeconds int64?; 11 labels {string}; 12 annotations {string}
        13 ownerReferences OwnerReference[]; 14 finalizers string[]; 17 managedFields ManagedFieldsEntry[]
    """,
    "OwnerReference": """
        5 apiVersion string!; 1 kind string!; 3 name string!; 4 uid string!; 6 controller bool?
        7 blockOwnerDeletion bool?
    """,
    "ManagedFieldsEntry": """
        1 manager string; 2 operation string; 3 apiVersion string; 4 time Time; 6 fieldsType string
        7 fieldsV1 FieldsV1; 8 subresource string
    """,
    "LabelSelector": "1 matchLabels {string}; 2 matchExpressions LabelSelectorRequirement[]",
    "LabelSelectorRequirement": "1 key string!; 2 operator string!; 3 values string[]",
    "Condition": """
        1 type string!; 2 status string!; 3 observedGeneration int64; 4 lastTransitionTime Time
        5 reason string!; 6 message string!
    """,
    # Scalars in JSON; decoder.py converts them (see SPECIAL there).
    "Time": "1 seconds int64; 2 nanos int32",
    "FieldsV1": "1 Raw bytes",
    "RawExtension": "1 raw bytes",
    "IntOrString": "1 type int64; 2 intVal int32; 3 strVal string",
    "Quantity": "1 string string",
}
