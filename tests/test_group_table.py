"""What python -m irislab.admin --groups prints, without a broker: the lag of a partition,
the heading of a group, and the table in Apache Kafka's kafka-consumer-groups --describe
columns, checked against lines that tool printed (Kafka 4.1.1) for the same figures."""

import pytest

from irislab.group_offsets import GroupView, Member, PartitionRow, group_text, offsets_table
from irislab.layout import layout_order

pytestmark = pytest.mark.unit

MEMBER = Member("kafka-python-3.0.12-384a34d3-28f4-4753-8ba9-96ca94c8454a",
                "kafka-python-3.0.12", "/127.0.0.1",
                (("virginicasetosa", 0), ("virginicasetosa", 1)))
OTHER = Member("kafka-python-3.0.12-9151e249-f39e-43d9-b2e1-8bb1c7bbc1fd",
               "kafka-python-3.0.12", "/127.0.0.1", (("versicolor", 0), ("versicolor", 1)))

# kafka-consumer-groups --describe --group coop, two members of cooperative-sticky
COOP = GroupView("coop", "Stable", "cooperative-sticky", (MEMBER, OTHER), (
    PartitionRow("virginicasetosa", 0, 100, 100, MEMBER),
    PartitionRow("virginicasetosa", 1, 100, 100, MEMBER),
    PartitionRow("versicolor", 0, 50, 50, OTHER),
    PartitionRow("versicolor", 1, 50, 50, OTHER)))
COOP_BY_KAFKA = """\
GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID                                              HOST            CLIENT-ID
coop            virginicasetosa 0          100             100             0               kafka-python-3.0.12-384a34d3-28f4-4753-8ba9-96ca94c8454a /127.0.0.1      kafka-python-3.0.12
coop            virginicasetosa 1          100             100             0               kafka-python-3.0.12-384a34d3-28f4-4753-8ba9-96ca94c8454a /127.0.0.1      kafka-python-3.0.12
coop            versicolor      0          50              50              0               kafka-python-3.0.12-9151e249-f39e-43d9-b2e1-8bb1c7bbc1fd /127.0.0.1      kafka-python-3.0.12
coop            versicolor      1          50              50              0               kafka-python-3.0.12-9151e249-f39e-43d9-b2e1-8bb1c7bbc1fd /127.0.0.1      kafka-python-3.0.12"""  # noqa: E501

# --describe --group done: no members, one run of the producer behind
DONE = GroupView("done", "Empty", "", (), tuple(
    PartitionRow(t, p, n, 2 * n, None) for (t, p), n in
    {("virginicasetosa", 0): 50, ("virginicasetosa", 1): 50, ("versicolor", 0): 25,
     ("versicolor", 1): 25}.items()))
DONE_BY_KAFKA = """\
GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID
done            virginicasetosa 0          50              100             50              -               -               -
done            virginicasetosa 1          50              100             50              -               -               -
done            versicolor      0          25              50              25              -               -               -
done            versicolor      1          25              50              25              -               -               -"""  # noqa: E501


@pytest.mark.parametrize("group,by_kafka", [(COOP, COOP_BY_KAFKA), (DONE, DONE_BY_KAFKA)],
                         ids=["members", "no-members"])
def test_the_table_is_the_one_kafkas_tool_prints_for_the_same_figures(group, by_kafka):
    assert offsets_table(group) == by_kafka.splitlines()


def test_a_long_group_or_topic_name_widens_its_column_as_in_kafkas_tool():
    group = GroupView("iris-lab-long-group-name", "Empty", "", (),
                      (PartitionRow("a-topic-of-twenty-ch", 0, 3, 7, None),))
    header, row = offsets_table(group)
    # Kafka's format: "%-24s %-20s %-10s %-15s %-15s %-15s %-15s %-15s %s"
    assert header.index("TOPIC") == 25 and header.index("PARTITION") == 25 + 21
    assert row.split() == ["iris-lab-long-group-name", "a-topic-of-twenty-ch", "0", "3", "7",
                           "4", "-", "-", "-"]
    assert row.index("a-topic") == 25 and row.index(" 0 ") == 45


@pytest.mark.parametrize("committed,end,lag", [(50, 100, 50), (100, 100, 0), (None, 100, None),
                                               (50, None, None), (None, None, None)])
def test_lag_is_the_log_end_offset_less_the_committed_one_if_both_are_known(
        committed, end, lag):
    assert PartitionRow("versicolor", 0, committed, end, None).lag == lag


def test_what_is_not_there_is_a_dash_as_in_kafkas_tool():
    member = Member("m-1", "kafka-python-3.0.12", "/127.0.0.1", (("versicolor", 0),))
    group = GroupView("lab", "Stable", "range", (member,),
                      (PartitionRow("versicolor", 0, None, 25, member),
                       PartitionRow("versicolor", 1, 10, None, None)))
    _, held, lost = (line.split() for line in offsets_table(group))
    assert held == ["lab", "versicolor", "0", "-", "25", "-", "m-1", "/127.0.0.1",
                    "kafka-python-3.0.12"]
    assert lost == ["lab", "versicolor", "1", "10", "-", "-", "-", "-", "-"]


def test_a_groups_heading_names_its_state_assignor_rebalancing_and_members():
    assert group_text(COOP).splitlines()[:3] == [
        "group coop: Stable, assignor cooperative-sticky (cooperative rebalancing), 2 members",
        "  member kafka-python-3.0.12-384a34d3-28f4-4753-8ba9-96ca94c8454a (client "
        "kafka-python-3.0.12, host /127.0.0.1): virginicasetosa[0], virginicasetosa[1]",
        "  member kafka-python-3.0.12-9151e249-f39e-43d9-b2e1-8bb1c7bbc1fd (client "
        "kafka-python-3.0.12, host /127.0.0.1): versicolor[0], versicolor[1]"]
    assert group_text(DONE).splitlines()[:2] == ["group done: Empty, no members", ""]
    one = GroupView("lab", "PreparingRebalance", "range",
                    (Member("m-1", "c", "/10.0.0.1", ()),), ())
    assert group_text(one).splitlines() == [
        "group lab: PreparingRebalance, assignor range (eager rebalancing), 1 member",
        "  member m-1 (client c, host /10.0.0.1): (none)",
        "  nothing committed yet"]
    assert group_text(GroupView("x", "Stable", "custom", (), ())).splitlines()[0] == \
        "group x: Stable, assignor custom, no members"


def test_partitions_sort_in_the_layouts_order_other_topics_after_by_name():
    keys = [("zeta", 0), ("versicolor", 1), ("alpha", 2), ("virginicasetosa", 1),
            ("versicolor", 0), ("alpha", 1), ("virginicasetosa", 0)]
    assert sorted(keys, key=layout_order) == [
        ("virginicasetosa", 0), ("virginicasetosa", 1), ("versicolor", 0), ("versicolor", 1),
        ("alpha", 1), ("alpha", 2), ("zeta", 0)]
