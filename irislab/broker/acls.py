"""Who may do what on a secured local cluster: the ACLs the runner grants the lab's two
users, each only what its scripts need (least privilege). The brokers' authorizer refuses
whatever no ACL allows (allow.everyone.if.no.acl.found=false); the super users, the brokers
themselves and admin, need no ACL.

    producer  on each lab topic: WRITE (send records; with it, kafka-python's idempotent
              producer may also ask for its producer id, which otherwise needs
              IDEMPOTENT_WRITE on the cluster), DESCRIBE (the topic's partitions and leaders,
              which the producer asks for before it sends and producer1.py checks at start),
              DESCRIBE_CONFIGS (read the topic's settings, such as min.insync.replicas,
              which decides when an acks=all write is refused; producer1.py itself does not
              need it)
    consumer  on each lab topic: READ (fetch records; commit a group's offsets), DESCRIBE
              (partitions, leaders, the start and end offsets the consumers seek to and
              stop at); on consumer groups whose name starts with "lab" (a prefixed ACL):
              READ (join the group, commit, fetch its offsets; READ implies DESCRIBE)

Kafka lets WRITE and READ imply DESCRIBE; DESCRIBE is granted on its own all the same, so
that a user whose WRITE or READ is taken away still sees the topics and is refused where it
writes or reads, not earlier. Neither user may create, delete or alter a topic, see another
topic, or touch the cluster: the admin user creates the lab's topics when the cluster
starts. Without WRITE, kafka-python's producer is refused at its first request, the
producer id (InitProducerId: ClusterAuthorizationFailed), before any record is sent.
"""

from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                         ResourcePattern, ResourceType)

from irislab.errors import BrokerError
from irislab.layout import TOPIC_PARTITIONS

# consumer.py --group NAME: the consumer user may use every group whose name starts so
GROUP_PREFIX = "lab"

LITERAL, PREFIXED = ACLResourcePatternType.LITERAL, ACLResourcePatternType.PREFIXED

# user -> (resource type, resource name, pattern type, operations)
GRANTS = {
    "producer": [(ResourceType.TOPIC, topic, LITERAL,
                  (ACLOperation.WRITE, ACLOperation.DESCRIBE, ACLOperation.DESCRIBE_CONFIGS))
                 for topic in TOPIC_PARTITIONS],
    "consumer": [(ResourceType.TOPIC, topic, LITERAL, (ACLOperation.READ, ACLOperation.DESCRIBE))
                 for topic in TOPIC_PARTITIONS]
                + [(ResourceType.GROUP, GROUP_PREFIX, PREFIXED, (ACLOperation.READ,))],
}


def lab_acls(user=None, operation=None, resource_type=None):
    """The ACLs the lab's users are granted, or those of one user, operation or kind of
    resource: each allows one operation on one resource, from any host."""
    return [ACL(principal=f"User:{name}", host="*", operation=op,
                permission_type=ACLPermissionType.ALLOW,
                resource_pattern=ResourcePattern(kind, resource, pattern))
            for name, grants in GRANTS.items() if user in (None, name)
            for kind, resource, pattern, operations in grants
            if resource_type in (None, kind)
            for op in operations if operation in (None, op)]


def grant(admin, acls):
    """Create the ACLs (those that exist already stay as they are)."""
    failed = admin.create_acls(acls)["failed"]
    if failed:
        raise BrokerError(f"the brokers refused to create {len(failed)} ACL(s): {failed[0]}")


def revoke(admin, acls):
    """Delete the ACLs."""
    for _, _, error in admin.delete_acls(acls):
        if error.errno:
            raise BrokerError(f"the brokers refused to delete ACLs: {error.__name__}")


def describe(acl):
    """One ACL as kafka-acls --list shows its parts: User:consumer READ TOPIC versicolor."""
    pattern = acl.resource_pattern
    name = pattern.resource_name + ("*" if pattern.pattern_type == PREFIXED else "")
    return f"{acl.principal} {acl.operation.name} {pattern.resource_type.name} {name}"
