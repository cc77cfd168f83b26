"""Subscriptions from the client's side (2026-07-28 on): on stdio every subscription's
notifications share one channel, so the client tells them apart by the subscriptionId in
`_meta`, and a client that connects again subscribes again. Scenarios modern-subscriptions
and modern-subscriptions-restart, over stdio (over HTTP each subscription has a stream of
its own and a connection that ends is another rule's business).

Spec: https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/subscriptions
"""

from conformance.checks import expect, info, not_applicable, requirement
from conformance.peer import RESTART, SUBSCRIPTIONS

LIST_CHANGED = "notifications/tools/list_changed"


def _stdio_subscription(client_run, scenario):
    """The scenario's record and the client's first subscriptions/listen, skipped when there
    is nothing to judge."""
    record = client_run(scenario)
    if record.transport != "stdio":
        not_applicable(
            f"the rule is stdio's, where one channel carries every subscription; this run is over {record.transport}"
        )
    if not record.modern_requests():
        not_applicable(f"the client sent no modern-era request in scenario {scenario} (legacy era only)")
    listen = next((m for m in record.client_requests() if m.method == "subscriptions/listen"), None)
    if listen is None:
        not_applicable(
            f"the client opened no subscription (no subscriptions/listen) in scenario {scenario}, "
            f"though the server declares tools.listChanged"
        )
    return record, listen


def _tool_lists_after(record, index: int) -> list:
    return [i.message for i in record.items[index:] if i.from_client and i.message.method == "tools/list"]


@requirement("2026-07-28/subscriptions-005", "2026-07-28/stdio-008")
def test_subscription_notifications_correlated(client_run):
    """On stdio the client routes a notification by its subscriptionId: the suite's server
    sends a tools list change of the client's subscription, and once the client has listed
    the tools again, one without a subscriptionId and one naming a subscription that never
    existed. Neither belongs to a subscription of the client, so neither may make it list
    the tools again. Not applicable to a client that does not re-list on its own
    subscription's change (its routing cannot be seen)."""
    record, listen = _stdio_subscription(client_run, SUBSCRIPTIONS)
    ours = record.index(lambda i: not i.from_client and i.message.method == LIST_CHANGED)
    if ours is None:
        not_applicable("the client listed no tools after subscribing, so the suite's server sent no list change")
    strays = record.index(lambda i: not i.from_client and i.message.method == LIST_CHANGED and i.message.params is None)
    if strays is None:
        not_applicable(
            f"the client did not list the tools again after the change of its subscription "
            f"{listen.id!r}: how it routes notifications cannot be seen"
        )
    again = _tool_lists_after(record, strays)
    expect(
        not again,
        f"the client listed the tools {len(again)} more time(s) after two list changes that belong "
        f"to no subscription of its own (one without io.modelcontextprotocol/subscriptionId, one "
        f"naming 'mcp-conformance-no-such-subscription'; its subscription is {listen.id!r}): "
        f"tools/list id(s) {[m.id for m in again]}",
    )


@requirement("2026-07-28/subscriptions-010")
def test_resubscribes_after_reconnect(client_run):
    """On stdio a server keeps no subscription across connections: when the suite's
    server exits after its first tools/list answer and the client starts it again, the
    client sends subscriptions/listen again on the new connection. Not applicable to a
    client that does not start the server again."""
    record, _ = _stdio_subscription(client_run, RESTART)
    starts = [e for e in record.events if e.get("event") == "start"]
    if len(starts) < 2:
        not_applicable("the client did not start the server again after it exited (no connection re-established)")
    anew = [i.message for i in record.items if i.entry.t >= starts[1]["t"] and i.from_client]
    expect(anew, "the client started the server again but sent it nothing")
    expect(
        any(m.method == "subscriptions/listen" for m in anew),
        f"after the server exited, the client started it again and sent {[m.method for m in anew]}, but no "
        f"subscriptions/listen: its subscription to tools list changes is gone with the old connection",
    )
    if len(starts) > 2:
        info(f"the client started the server {len(starts)} times")
