"""Kafka producers and consumers (aiokafka, kafka-python, confluent-kafka) and their topics."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from fastapi_review.index.symbols import Function, Module, dotted

if TYPE_CHECKING:
    from fastapi_review.index.project import ProjectIndex

Library = Literal["aiokafka", "kafka-python", "confluent-kafka"]

CLIENT_CLASSES: dict[str, tuple[Library, str]] = {
    "aiokafka.AIOKafkaProducer": ("aiokafka", "producer"),
    "aiokafka.producer.AIOKafkaProducer": ("aiokafka", "producer"),
    "aiokafka.AIOKafkaConsumer": ("aiokafka", "consumer"),
    "aiokafka.consumer.AIOKafkaConsumer": ("aiokafka", "consumer"),
    "kafka.KafkaProducer": ("kafka-python", "producer"),
    "kafka.KafkaConsumer": ("kafka-python", "consumer"),
    "confluent_kafka.Producer": ("confluent-kafka", "producer"),
    "confluent_kafka.SerializingProducer": ("confluent-kafka", "producer"),
    "confluent_kafka.Consumer": ("confluent-kafka", "consumer"),
    "confluent_kafka.DeserializingConsumer": ("confluent-kafka", "consumer"),
}
SEND_METHODS = {"send", "send_and_wait", "produce", "send_batch"}
PARTIALS = {"functools.partial", "partial"}


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_LIST_TUPLE = ast.List | ast.Tuple


@dataclass
class KafkaClient:
    library: Library
    role: str  # "producer" | "consumer"
    cls: str
    path: str
    line: int
    node: ast.Call
    function: Function | None
    options: dict[str, ast.expr] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    group_id: str | None = None

    def option(self, *names: str) -> ast.expr | None:
        for n in names:
            if n in self.options:
                return self.options[n]
        return None


@dataclass
class KafkaSend:
    path: str
    line: int
    node: ast.Call
    function: Function
    method: str
    topic: str | None
    topic_expr: ast.expr | None
    awaited: bool


def client_class(target: str | None) -> tuple[Library, str] | None:
    if not target:
        return None
    if target in CLIENT_CLASSES:
        return CLIENT_CLASSES[target]
    return None


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def collect(index: ProjectIndex) -> None:

    for m in index.source_modules:
        if not (index.mentions(m, "kafka", "producer", ".subscribe") or "kafka" in m.name.lower()):
            # a client's class resolves to a name with "kafka" in it, spelled in the
            # module (an import) or in its own name (a vendored client); a send needs
            # that or a receiver named "producer"/"kafka"; a subscription is spelled
            continue
        resolver = index.resolver(m)
        seen: set[int] = set()
        subscribes: list[ast.Call] = []
        for fn in m.functions:
            for c in fn.calls:
                call = c.node
                seen.add(id(call))
                # the tests `_maybe_client` and `_maybe_send` start with, asked here first:
                # most calls are neither
                if c.target in _CLIENT_TARGETS:
                    _maybe_client(index, m, fn, call, c.target)
                if c.method and c.name in SEND_METHODS:
                    _maybe_send(index, m, fn, call, c.target, c.awaited)
                if c.method and c.name == "subscribe" and call.args:
                    subscribes.append(call)
        for node in m.nodes(ast.Call):
            if isinstance(node, ast.Call) and id(node) not in seen:
                _maybe_client(index, m, None, node, resolver.dotted(node.func))
        # topics subscribed later: consumer.subscribe([...]), by the module's consumers
        consumers = (
            [c for c in index.kafka_clients if c.role == "consumer" and c.path == m.path]
            if subscribes
            else []
        )
        for call in subscribes:
            arg = call.args[0]
            exprs = arg.elts if isinstance(arg, _LIST_TUPLE) else [arg]
            topics = [t for t in (index.string_value(m, e) for e in exprs) if t]
            for client in consumers:
                client.topics.extend(t for t in topics if t not in client.topics)


_CLIENT_TARGETS = frozenset(CLIENT_CLASSES) | frozenset(PARTIALS)


def _maybe_client(
    index: ProjectIndex, m: Module, fn: Function | None, node: ast.Call, target: str | None
) -> None:
    if target not in _CLIENT_TARGETS:
        return  # the common case, answered first
    args: list[ast.expr] = list(node.args)
    if target in PARTIALS and args:
        # functools.partial(KafkaConsumer, "topic", group_id=...): built later, often on a
        # worker thread; the partial's arguments are the client's

        target = index.resolver(m).dotted(args[0])
        args = args[1:]
    kind = client_class(target)
    if kind is None:
        return
    lib, role = kind
    options: dict[str, ast.expr] = {k.arg: k.value for k in node.keywords if k.arg}
    # confluent-kafka takes a config dict: Producer({"acks": "all"}) / Producer(conf)
    if lib == "confluent-kafka" and args and isinstance(args[0], ast.Dict):
        for k, v in zip(args[0].keys, args[0].values, strict=True):
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                options[k.value.replace(".", "_")] = v
    topics: list[str] = []
    if role == "consumer" and lib != "confluent-kafka":
        for a in args:
            if isinstance(a, ast.Starred):
                continue
            t = index.string_value(m, a)
            if t:
                topics.append(t)
    group = _kw(node, "group_id")
    index.kafka_clients.append(
        KafkaClient(
            library=lib,
            role=role,
            cls=target or "",
            path=m.path,
            line=node.lineno,
            node=node,
            function=fn,
            options=options,
            topics=topics,
            group_id=index.string_value(m, group) if group is not None else None,
        )
    )


def _maybe_send(
    index: ProjectIndex,
    m: Module,
    fn: Function,
    node: ast.Call,
    target: str | None,
    awaited: bool,
) -> None:
    if not isinstance(node.func, ast.Attribute) or node.func.attr not in SEND_METHODS:
        return
    receiver = (dotted(node.func.value) or "").lower()
    owner = (target or "").rsplit(".", 1)[0]
    is_kafka = client_class(owner) is not None and client_class(owner)[1] == "producer"  # type: ignore[index]
    if not is_kafka and "producer" not in receiver and "kafka" not in receiver:
        return
    topic_expr = node.args[0] if node.args else _kw(node, "topic")
    topic = index.string_value(m, topic_expr) if topic_expr is not None else None
    index.kafka_sends.append(
        KafkaSend(m.path, node.lineno, node, fn, node.func.attr, topic, topic_expr, awaited)
    )


def send_sites(index: ProjectIndex) -> tuple[frozenset[int], frozenset[str]]:
    """The Kafka send calls (node ids) and the functions that make them (made once)."""
    return index.once(
        "kafka.send_sites",
        lambda: (
            frozenset(id(s.node) for s in index.kafka_sends),
            frozenset(s.function.fqname for s in index.kafka_sends),
        ),
    )
