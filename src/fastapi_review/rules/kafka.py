"""Kafka reliability rules: producers, consumer shutdown, commits, DLQ, idempotency, schemas.

The facts come from the index (`kafka_clients`, `kafka_sends`) and from the consume loops
and processing paths computed in `kafka_flow`. Sync clients called from async code are the
async rules' business (category async.blocking-io) and are not reported here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.index.callgraph import is_stub
from fastapi_review.index.kafka import KafkaClient, KafkaSend, client_class, send_sites
from fastapi_review.index.nodes import (
    ASSIGN_NODES,
    FOR_NODES,
    NAME_OR_ATTRIBUTE,
    TRY_NODES,
    WITH_NODES,
    children,
    has_span,
    parent_of,
    walk,
)
from fastapi_review.index.project import ProjectIndex, contains_any
from fastapi_review.index.symbols import Function, dotted, unparse
from fastapi_review.models import Finding, Severity
from fastapi_review.rules.base import Context, Example, Rule
from fastapi_review.rules.kafka_flow import (
    DLQ_TOPIC_WORDS,
    DLQ_WORDS,
    PARSE_FUNCS,
    RETRY_WORDS,
    UNKNOWN,
    VALIDATE_METHODS,
    ConsumeLoop,
    Region,
    Step,
    call_sites,
    confluent_config,
    consume_loops,
    consumer_api_call,
    consumer_like,
    enclosing_try_covers,
    func_name,
    handler_type_names,
    is_dlq_name,
    is_logging,
    is_stop_handler,
    library_of_send,
    literal,
    mentions,
    named_call_sites,
    names_in,
    offloaded_ref,
    own_walk,
    processing_steps,
    receiver,
    resolve_call,
    sites,
    source_text,
)

# --- shared helpers -------------------------------------------------------------------


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_RETURN_RAISE = ast.Return | ast.Raise
_RETURN_YIELD = ast.Return | ast.Yield
_CONTINUE_RETURN_BREAK = ast.Continue | ast.Return | ast.Break
_RETURN_BREAK = ast.Return | ast.Break
_ALL_ASSIGNS = ast.Assign | ast.AugAssign | ast.AnnAssign
_RETURN_CONTINUE = ast.Return | ast.Continue
_ATTRIBUTE_CALL_SUBSCRIPT = ast.Attribute | ast.Call | ast.Subscript


def _parent(root: ast.AST, node: ast.AST) -> ast.AST | None:
    """The node directly above `node` (which lies under `root`)."""
    if has_span(node):
        return parent_of(node)
    return _parents(root).get(id(node))


def _parents(root: ast.AST) -> dict[int, ast.AST]:
    out: dict[int, ast.AST] = {}
    for node in walk(root):
        for child in children(node):
            out[id(child)] = node
    return out


def client_options(ix: ProjectIndex, client: KafkaClient) -> dict[str, ast.expr] | None:
    """All options of a client, or None when some come from `**kwargs` / an unknown config."""
    node = client.node
    if any(k.arg is None for k in node.keywords):
        return None
    opts = dict(client.options)
    if client.library == "confluent-kafka":
        if not node.args:
            return opts if opts else None
        first = node.args[0]
        if isinstance(first, ast.Dict):
            if None in first.keys:
                return None
        else:
            conf = confluent_config(ix, client)
            if conf is None:
                return None
            opts.update(conf)
    return opts


def option_value(ix: ProjectIndex, client: KafkaClient, expr: ast.expr | None) -> object:
    """A literal option value, a settings default, None when absent, UNKNOWN otherwise."""
    if expr is None:
        return None
    value = literal(expr)
    if value is UNKNOWN:
        m = ix.modules.get(client.path)
        text = ix.string_value(m, expr) if m is not None else None
        return text if text is not None else UNKNOWN
    return value


def truthy(value: object) -> bool | None:
    if value is UNKNOWN:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() in {"true", "1", "yes"}:
            return True
        if value.lower() in {"false", "0", "no"}:
            return False
    return None


def _is_awaited(fn: Function, call: ast.Call) -> bool:
    c = fn.call_at(call)
    return c is not None and c.awaited


def _work_calls(ix: ProjectIndex, fn: Function, stmts: Region) -> list[ast.Call]:
    """Calls that do something: not logging, not the consumer API, not sleeping."""
    out: list[ast.Call] = []
    for node in own_walk(stmts, ast.Call):
        if not isinstance(node, ast.Call) or is_logging(node):
            continue
        if consumer_api_call(ix, fn, node) or func_name(node) == "sleep":
            continue
        out.append(node)
    return out


# --- KAF001 -----------------------------------------------------------------------------


class ProducerReliability(Rule):
    id = "KAF001"
    name = "kafka-producer-unreliable"
    category = "kafka.producer-reliability"
    what = """
        A Kafka producer that can lose messages silently: created without `acks="all"` and
        idempotence (aiokafka and kafka-python default to `acks=1`), a send whose delivery
        result is never awaited or checked (aiokafka `send()` returns a future; kafka-python
        `send()` returns a future; confluent-kafka `produce()` reports through a delivery
        callback), a `send_and_wait()` whose `KafkaError` no caller handles, or a kafka-python
        `future.get()` without a timeout.
    """
    why = """
        With `acks=1` a leader failover drops messages the broker already acknowledged; without
        idempotence a retried send can be written twice or out of order. A delivery result
        nobody looks at turns a broker outage into lost events with a 2xx response.
    """
    fix = """
        Create the producer with `acks="all"` and `enable_idempotence=True`; use
        `await producer.send_and_wait(...)` (or await the future `send()` returns) inside a
        try/except KafkaError that retries, fails the request or keeps the event (outbox);
        give confluent-kafka `produce()` an `on_delivery` callback and poll/flush with a timeout.
    """
    bad: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaProducer
        from fastapi import APIRouter

        router = APIRouter()
        producer = AIOKafkaProducer(bootstrap_servers="kafka:9092")  # expect


        @router.post("/orders")
        async def create_order(order: dict) -> dict:
            await producer.send("orders.created", b"{}")  # expect
            return order
        """,
        """
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers="kafka:9092", acks="all", enable_idempotence=True)


        async def publish(payload: bytes) -> None:
            await producer.send_and_wait("orders.created", payload)  # expect


        async def on_order_created(payload: bytes) -> None:
            await publish(payload)
        """,
        """
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": "kafka:9092", "acks": "1"})  # expect


        def publish(payload: bytes) -> None:
            producer.produce("orders.created", payload)  # expect
            producer.poll(0)
        """,
        """
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers="kafka:9092", acks="all")


        def publish(payload: bytes) -> None:
            producer.send("orders.created", payload)  # expect
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        import logging

        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        log = logging.getLogger(__name__)
        producer = AIOKafkaProducer(bootstrap_servers="kafka:9092", acks="all", enable_idempotence=True)


        class PublishError(Exception):
            pass


        async def publish(payload: bytes) -> None:
            try:
                await producer.send_and_wait(
                    "orders.created", payload, headers=[("correlation_id", b"abc")]
                )
            except KafkaError as exc:
                log.error("publish failed: %s", exc)
                raise PublishError() from exc


        async def publish_many(payloads: list[bytes]) -> None:
            futures = [await producer.send("orders.created", p) for p in payloads]
            for fut in futures:
                await fut
        """,
        """
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": "kafka:9092", "enable.idempotence": True})
        failures: list[object] = []


        def _report(err: object, msg: object) -> None:
            if err is not None:
                failures.append(err)


        def publish(payload: bytes) -> None:
            producer.produce("orders.created", payload, on_delivery=_report)
            producer.flush(5.0)
        """,
        """
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        producer = KafkaProducer(bootstrap_servers="kafka:9092", acks="all", retries=5)


        def publish(payload: bytes) -> None:
            try:
                producer.send("orders.created", payload).get(timeout=10)
            except KafkaError:
                raise
        """,
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        ix = ctx.index
        for client in ix.kafka_clients:
            if client.role != "producer":
                continue
            problem = self._config_problem(ix, client)
            if problem:
                yield self.finding(ctx, client.path, client.line, problem)
        reported: set[tuple[str, int]] = set()
        for send in ix.kafka_sends:
            lib = library_of_send(ix, send)
            if lib is None or (send.path, send.line) in reported:
                continue
            problem = self._send_problem(ix, send, lib)
            if problem:
                reported.add((send.path, send.line))
                yield self.finding(ctx, send.path, send.line, problem)

    @staticmethod
    def _config_problem(ix: ProjectIndex, client: KafkaClient) -> str | None:
        opts = client_options(ix, client)
        if opts is None:
            return None
        idem = truthy(option_value(ix, client, opts.get("enable_idempotence")))
        if idem is True or (idem is None and "enable_idempotence" in opts):
            return None
        acks_expr = opts.get("acks", opts.get("request_required_acks"))
        acks = option_value(ix, client, acks_expr)
        if acks is UNKNOWN:
            return None
        if acks is None:
            acks = "all" if client.library == "confluent-kafka" else 1
        strong = str(acks).lower() in {"all", "-1"}
        default = " (the default)" if acks_expr is None else ""
        if not strong:
            return (
                f"{client.library} producer uses acks={acks!r}{default} without idempotence: "
                "a leader failover loses messages the broker already acknowledged"
            )
        if client.library == "kafka-python":
            return None
        return (
            f"{client.library} producer has acks='all' but idempotence is off: "
            "a retried send can be written twice or out of order"
        )

    def _send_problem(self, ix: ProjectIndex, send: KafkaSend, lib: str) -> str | None:
        fn = send.function
        parents = _parents(fn.node)
        parent = parents.get(id(send.node))
        if lib == "confluent-kafka":
            if send.method != "produce":
                return None
            has_cb = any(k.arg in {"callback", "on_delivery"} for k in send.node.keywords)
            if not has_cb and len(send.node.args) < 6:
                return (
                    "produce() has no delivery callback: a message the broker rejects or "
                    "never receives is dropped without anyone noticing"
                )
            return None
        if lib == "kafka-python":
            if send.method != "send":
                return None
            if isinstance(parent, ast.Attribute) and parent.attr == "get":
                get_call = parents.get(id(parent))
                if (
                    isinstance(get_call, ast.Call)
                    and not get_call.args
                    and not any(k.arg == "timeout" for k in get_call.keywords)
                ):
                    return (
                        "send(...).get() has no timeout: it blocks forever while the broker is down"
                    )
                return None
            if isinstance(parent, ast.Expr) or self._unused_result(fn, parent):
                return (
                    "kafka-python send() result is never checked (no .get(timeout=...), no "
                    "add_errback): a failed delivery is silently dropped"
                )
            return None
        # aiokafka
        if send.method == "send":
            if not send.awaited:
                if isinstance(parent, ast.Expr):
                    return "send() is never awaited: the coroutine never runs and nothing is sent"
                return None
            await_node = parent
            outer = parents.get(id(await_node)) if await_node is not None else None
            if isinstance(outer, ast.Expr) or self._unused_result(fn, outer):
                return (
                    "await producer.send(...) only enqueues the message; the delivery future it "
                    "returns is never awaited, so a failed delivery goes unnoticed "
                    "(use send_and_wait or await the future)"
                )
            return None
        if send.method == "send_and_wait" and not self._handled_on_path(ix, fn, send.node):
            return (
                "send_and_wait() raises KafkaError when the broker is unavailable and no "
                "caller handles it: the event is lost with no retry or fallback"
            )
        return None

    @staticmethod
    def _unused_result(fn: Function, assign: ast.AST | None) -> bool:
        if not isinstance(assign, ast.Assign) or len(assign.targets) != 1:
            return False
        target = assign.targets[0]
        if not isinstance(target, ast.Name):
            return False
        uses = [
            n for n in walk(fn.node, ast.Name) if n.id == target.id and isinstance(n.ctx, ast.Load)
        ]
        return not uses

    @staticmethod
    def _handled_on_path(ix: ProjectIndex, fn: Function, node: ast.AST) -> bool:
        if enclosing_try_covers(fn, node, ix):
            return True
        memo = ix.memo.setdefault("kafka.handled_by_callers", {})
        assert isinstance(memo, dict)
        got = memo.get(id(fn.node))
        if got is None:
            got = memo[id(fn.node)] = ProducerReliability._handled_by_callers(ix, fn)
        return bool(got)

    @staticmethod
    def _handled_by_callers(ix: ProjectIndex, fn: Function) -> bool:
        """A caller up to five calls up makes the call inside a try with handlers.

        Past five calls, or past `_MAX_CALLERS` functions on the way (unresolved calls
        are matched by method name, so a common name like `get` can draw in most of a
        large project), the answer is unknown and the rule stays quiet.
        """
        graph = _CallerBits.of(ix)
        seen = 1 << graph.bit(fn)
        frontier = [fn]
        for _ in range(5):
            nxt = 0
            for f in frontier:
                covered, calling = graph.summary(f)
                if covered:
                    return True
                nxt |= calling
            nxt &= ~seen
            if not nxt:
                return False
            seen |= nxt
            if seen.bit_count() > _MAX_CALLERS:
                return True  # too many callers to tell: stay quiet
            frontier = graph.members(nxt)
        return True  # too deep to tell: stay quiet


class _CallerBits:
    """Callers of functions as bit sets (one bit per function, given on first sight), so
    that the caller search's set operations are single integer operations; kept with
    the index."""

    def __init__(self, ix: ProjectIndex) -> None:
        self.ix = ix
        self.bits: dict[int, int] = {}
        self.functions: list[Function] = []
        self.summaries: dict[int, tuple[bool, int]] = {}
        self.named: dict[str, tuple[bool, int]] = {}

    @staticmethod
    def of(ix: ProjectIndex) -> _CallerBits:
        return ix.once("kafka.caller_bits", lambda: _CallerBits(ix))

    def bit(self, fn: Function) -> int:
        got = self.bits.get(id(fn))
        if got is None:
            got = self.bits[id(fn)] = len(self.functions)
            self.functions.append(fn)
        return got

    def summary(self, fn: Function) -> tuple[bool, int]:
        """Whether some call of `fn` sits in a try with handlers, and its callers' bits."""
        got = self.summaries.get(id(fn))
        if got is None:
            resolved, name = call_sites(self.ix, fn)
            covered, calling = self._summary_of(resolved)
            if name is not None:  # the calls matched by name: the same for every `name`
                named = self.named.get(name)
                if named is None:
                    named = self.named[name] = self._summary_of(named_call_sites(self.ix, name))
                covered, calling = covered or named[0], calling | named[1]
            got = self.summaries[id(fn)] = (covered, calling)
        return got

    def _summary_of(self, sites: list[tuple[int, Function, ast.Call]]) -> tuple[bool, int]:
        covered = False
        calling = 0
        for _, g, call in sites:
            covered = covered or enclosing_try_covers(g, call, self.ix)
            calling |= 1 << self.bit(g)
        return covered, calling

    def members(self, bits: int) -> list[Function]:
        out: list[Function] = []
        while bits:
            low = bits & -bits
            out.append(self.functions[low.bit_length() - 1])
            bits ^= low
        return out


_MAX_CALLERS = 500


# --- KAF002 -----------------------------------------------------------------------------

STOP_METHODS = {"stop", "close"}


def _names_a_stop_method(text: str) -> bool:
    return contains_any(text, STOP_METHODS)


def _stop_call_sites(ix: ProjectIndex) -> list[tuple[Function, ast.expr]]:
    """`x.stop()` / `x.close()` calls and `to_thread(x.close)` references (the `x.stop` node)."""
    out: list[tuple[Function, ast.expr]] = []
    for m in ix.source_modules_where("kafka.stop_methods", _names_a_stop_method):
        for fn in m.functions:
            for c in fn.calls:
                ref = offloaded_ref(c.node)
                f = ref if ref is not None else c.node.func
                if isinstance(f, ast.Attribute) and f.attr in STOP_METHODS:
                    out.append((fn, f))
    return out


def _referenced(ix: ProjectIndex, fn: Function) -> bool:
    """Is a function called or handed over anywhere (lifespan callback, create_task, ...)?"""
    if fn.node.decorator_list:
        return True
    low = fn.name.lower()
    for m in ix.source_modules:
        if low not in ix.lower_text(m):
            continue  # a reference spells the name
        for node in walk(m.tree):
            if node is fn.node:
                continue
            if isinstance(node, ast.Attribute) and node.attr == fn.name:
                return True
            if isinstance(node, ast.Name) and node.id == fn.name and isinstance(node.ctx, ast.Load):
                return True
    return False


class ConsumerShutdown(Rule):
    id = "KAF002"
    name = "kafka-consumer-without-graceful-shutdown"
    category = "kafka.consumer-shutdown"
    what = """
        A Kafka consumer that is never stopped/closed (no `stop()`/`close()` in a finally
        block, in the lifespan exit or in a shutdown hook), one whose `stop()` runs only after
        the consume loop ends normally (skipped on cancellation or error), or a synchronous
        consume loop `while True:` with no way out.
    """
    why = """
        A consumer that does not leave its group on shutdown keeps its partitions until the
        session times out: nobody consumes them meanwhile, in-flight offsets are not
        committed and every deploy turns into duplicate processing and lag.
    """
    fix = """
        Start the consumer in the lifespan and stop it on exit: `try: ... finally: await
        consumer.stop()` (aiokafka) / `consumer.close()` (kafka-python, confluent-kafka);
        cancel and await the consume task, and give synchronous loops a stop flag.
    """
    bad: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaConsumer


        async def consume() -> None:
            consumer = AIOKafkaConsumer("orders", bootstrap_servers="kafka:9092", group_id="svc")  # expect
            await consumer.start()
            async for msg in consumer:
                print(msg.value)
        """,
        """
        from aiokafka import AIOKafkaConsumer


        async def consume() -> None:
            consumer = AIOKafkaConsumer("orders", bootstrap_servers="kafka:9092", group_id="svc")  # expect
            await consumer.start()
            async for msg in consumer:
                print(msg.value)
            await consumer.stop()
        """,
        """
        from confluent_kafka import Consumer

        running = True


        def consume_forever(consumer: Consumer) -> None:
            while True:  # expect
                msg = consumer.poll(1.0)
                if msg is None:
                    continue
                print(msg.value())
            consumer.close()
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaConsumer


        async def consume() -> None:
            consumer = AIOKafkaConsumer("orders", bootstrap_servers="kafka:9092", group_id="svc")
            await consumer.start()
            try:
                async for msg in consumer:
                    print(msg.value)
            finally:
                await consumer.stop()
        """,
        """
        import threading

        from kafka import KafkaConsumer


        class Worker:
            def __init__(self) -> None:
                self._consumer = KafkaConsumer("orders", group_id="svc")
                self._stopping = threading.Event()

            def run(self) -> None:
                while not self._stopping.is_set():
                    for msg in self._consumer.poll(timeout_ms=500).values():
                        print(msg)

            def stop(self) -> None:
                self._stopping.set()
                self._consumer.close()


        worker = Worker()
        shutdown_hooks = [worker.stop]
        """,
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        ix = ctx.index
        stop_sites = _stop_call_sites(ix)
        loops = consume_loops(ix)
        # a stop() that only cancels the consume task is reported there, not at the client
        reported: set[str] = set()
        for fn, line, message in _cancel_only_stops(ix, loops, stop_sites):
            reported.add(fn.path)
            yield self.finding(ctx, fn.path, line, message)
        for client in ix.kafka_clients:
            if client.role != "consumer" or client.path in reported:
                continue
            problem = self._client_problem(ix, client, stop_sites, loops)
            if problem:
                yield self.finding(ctx, client.path, client.line, problem)
        for loop in loops:
            if isinstance(loop.node, ast.While) and not loop.fn.is_async and self._endless(loop):
                yield self.finding(
                    ctx,
                    loop.fn.path,
                    loop.line,
                    "synchronous consume loop `while True` has no stop flag and no break: "
                    "it cannot end, so the consumer is never closed on shutdown",
                )

    @staticmethod
    def _endless(loop: ConsumeLoop) -> bool:
        test = loop.node.test if isinstance(loop.node, ast.While) else None
        if not (isinstance(test, ast.Constant) and test.value is True):
            return False
        for s in sites(loop.body):
            if isinstance(s.node, _RETURN_RAISE):
                return False
            if isinstance(s.node, ast.Break) and (not s.loops or s.loops[-1] is loop.node):
                return False
        return True

    def _client_problem(
        self,
        ix: ProjectIndex,
        client: KafkaClient,
        stop_sites: list[tuple[Function, ast.expr]],
        loops: list[ConsumeLoop],
    ) -> str | None:
        m = ix.modules.get(client.path)
        if m is None:
            return None
        parent = _parent(m.tree, client.node)
        if isinstance(parent, ast.withitem):
            return None
        stored_attr: str | None = None
        fn = client.function
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            target = parent.targets[0]
            if isinstance(target, ast.Name) and fn is not None:
                local = self._local_problem(ix, fn, target.id, loops)
                if local != "escapes":
                    return local
            elif isinstance(target, ast.Attribute):
                stored_attr = target.attr
        for g, f in stop_sites:
            recv = f.value if isinstance(f, ast.Attribute) else None
            text = dotted(recv) if recv is not None else None
            if text is None:
                continue
            last = text.rsplit(".", 1)[-1]
            named = consumer_like(ix, g, recv) or (stored_attr is not None and last == stored_attr)
            if named and (_referenced(ix, g) or g.name in {"lifespan", "shutdown", "on_shutdown"}):
                return None
        return (
            f"{client.library} consumer is never stopped: no stop()/close() on lifespan exit or "
            "shutdown, so it keeps its partitions and uncommitted offsets until the session times out"
        )

    @staticmethod
    def _local_problem(
        ix: ProjectIndex, fn: Function, name: str, loops: list[ConsumeLoop]
    ) -> str | None:
        """For a consumer held in a local variable: None (fine), 'escapes', or a problem."""
        stops_safe = False
        stops_unsafe = False
        called = {id(n.func) for n in own_walk(fn.node.body, ast.Call) if isinstance(n, ast.Call)}
        for s in sites(fn.node.body):
            node = s.node
            if isinstance(node, WITH_NODES) and any(
                isinstance(item.context_expr, ast.Name) and item.context_expr.id == name
                for item in node.items
            ):
                stops_safe = True  # `async with consumer:` stops it on exit
            if (
                isinstance(node, ast.Attribute)
                and node.attr in STOP_METHODS
                and isinstance(node.value, ast.Name)
                and node.value.id == name
                and id(node) not in called
                and not any(
                    isinstance(c, ast.Call) and offloaded_ref(c) is node
                    for c in own_walk(fn.node.body, ast.Call)
                )
            ):
                stops_safe = True  # handed over as a callback (atexit, exit stack, ...)
            if isinstance(node, ast.Call):
                ref = offloaded_ref(node)
                f = ref if ref is not None else node.func
                if (
                    isinstance(f, ast.Attribute)
                    and f.attr in STOP_METHODS
                    and isinstance(f.value, ast.Name)
                    and f.value.id == name
                ):
                    safe = s.in_finally or (
                        s.handler is not None
                        and (
                            s.handler.type is None
                            or not {"BaseException", "CancelledError"}.isdisjoint(
                                handler_type_names(s.handler)
                            )
                        )
                    )
                    stops_safe = stops_safe or safe
                    stops_unsafe = stops_unsafe or not safe
        if stops_safe:
            return None
        own_loop = any(
            lp.fn is fn and isinstance(lp.node, FOR_NODES) and name in names_in(lp.node.iter)
            for lp in loops
        ) or any(
            lp.fn is fn and lp.fetch is not None and name in names_in(lp.fetch) for lp in loops
        )
        if stops_unsafe:
            if own_loop:
                return (
                    "consumer stop()/close() runs only when the consume loop ends normally: on "
                    "cancellation (lifespan exit) or an error it is skipped; use try/finally"
                )
            return None
        if _escapes(fn, name):
            return "escapes"
        return (
            "consumer is created here and never stopped/closed: on shutdown or cancellation it "
            "keeps its partitions and uncommitted offsets; stop it in a finally block"
        )


def _self_attr(expr: ast.expr | None) -> str | None:
    """`attr` of `self.attr` (also under `await` and as a call's receiver)."""
    if isinstance(expr, ast.Await):
        expr = expr.value
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        expr = expr.func.value
    if (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id == "self"
    ):
        return expr.attr
    return None


def _cancel_only_stops(
    ix: ProjectIndex, loops: list[ConsumeLoop], stop_sites: list[tuple[Function, ast.expr]]
) -> Iterator[tuple[Function, int, str]]:
    """A consumer class whose stop()/close() only cancels the consume task while nothing in
    the class (nor elsewhere) stops the consumer it holds: the message in hand is cut off,
    nothing is committed and the consumer never leaves its group."""
    seen: set[str] = set()
    for lp in loops:
        fn = lp.fn
        if not fn.class_name or "." in fn.qualname.rsplit(".", 1)[0]:
            continue
        it = lp.fetch if lp.fetch is not None else getattr(lp.node, "iter", None)
        attr = _self_attr(it)
        cls = fn.qualname.rsplit(".", 1)[0]
        key = f"{fn.module}.{cls}"
        if attr is None or key in seen:
            continue
        seen.add(key)
        m = ix.modules.get(fn.path)
        if m is None:
            continue
        methods = [g for g in m.functions if g.qualname.rsplit(".", 1)[0] == cls]
        stops_consumer = any(
            isinstance(n, ast.Attribute) and n.attr in STOP_METHODS and _self_attr(n.value) == attr
            for g in methods
            for n in walk(g.node)
        ) or any(
            isinstance(f, ast.Attribute)
            and (dotted(f.value) or "").rsplit(".", 1)[-1] == attr
            and g.path != fn.path
            for g, f in stop_sites
        )
        if stops_consumer:
            continue
        for g in methods:
            if g.name not in STOP_METHODS | {"shutdown", "aclose"} or not _referenced(ix, g):
                continue
            cancels = [
                n
                for n in walk(g.node, ast.Call)
                if isinstance(n.func, ast.Attribute) and n.func.attr == "cancel"
            ]
            if cancels:
                yield (
                    g,
                    cancels[0].lineno,
                    f"`{g.qualname}()` only cancels the consume task: the message in hand is "
                    f"cut off, no offset is committed and the consumer (`self.{attr}`) is never "
                    "stopped, so it keeps its partitions until the session times out",
                )


def _escapes(fn: Function, name: str) -> bool:
    """Is the local handed out (returned, stored, passed, yielded)?"""
    for node in walk(fn.node, (_RETURN_YIELD, ast.Assign, ast.Call)):
        if isinstance(node, _RETURN_YIELD) and node.value is not None:
            if name in names_in(node.value):
                return True
        elif isinstance(node, ast.Assign) and name in names_in(node.value):
            if not all(isinstance(t, ast.Name) for t in node.targets):
                return True
        elif isinstance(node, ast.Call):
            for a in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(a, ast.Name) and a.id == name:
                    return True
    return False


# --- KAF003 -----------------------------------------------------------------------------


def _is_commit(ix: ProjectIndex, fn: Function, call: ast.Call) -> bool:
    if consumer_api_call(ix, fn, call) in {"commit", "store_offsets"}:
        return True
    callee = resolve_call(ix, fn, call)
    if callee is None or "commit" not in callee.name.lower():
        return False
    return any(
        isinstance(n, ast.Call) and consumer_api_call(ix, callee, n) == "commit"
        for n in own_walk(callee.node.body, ast.Call)
    )


class CommitSemantics(Rule):
    id = "KAF003"
    name = "kafka-commit-before-processing"
    category = "kafka.commit-semantics"
    what = """
        A consumer in a group that leaves auto-commit on (aiokafka, kafka-python and
        confluent-kafka all default to `enable_auto_commit=True`), or a consume loop that
        calls `commit()` before the processing of the message it commits.
    """
    why = """
        Auto-commit and commit-before-processing both acknowledge a message before it is
        handled: a crash, a deploy or an exception in the handler loses it for good. The
        service then gives at-most-once delivery where the design needs at-least-once.
    """
    fix = """
        Set `enable_auto_commit=False` and commit explicitly after the message has been
        processed (or dead-lettered): `await handle(msg); await consumer.commit()`.
    """
    bad: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaConsumer


        def build() -> AIOKafkaConsumer:
            return AIOKafkaConsumer("orders", bootstrap_servers="kafka:9092", group_id="svc")  # expect
        """,
        """
        from aiokafka import AIOKafkaConsumer


        async def handle(msg: object) -> None: ...


        async def run(consumer: AIOKafkaConsumer) -> None:
            async for msg in consumer:
                await consumer.commit()  # expect
                await handle(msg)
        """,
        """
        from confluent_kafka import Consumer

        conf = {"bootstrap.servers": "kafka:9092", "group.id": "svc"}
        consumer = Consumer(conf)  # expect
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaConsumer


        async def handle(msg: object) -> None: ...


        def build() -> AIOKafkaConsumer:
            return AIOKafkaConsumer(
                "orders", bootstrap_servers="kafka:9092", group_id="svc", enable_auto_commit=False
            )


        async def run(consumer: AIOKafkaConsumer) -> None:
            async for msg in consumer:
                await handle(msg)
                await consumer.commit()
        """,
        """
        from confluent_kafka import Consumer


        def handle(msg: object) -> None: ...


        def run() -> None:
            consumer = Consumer(
                {"bootstrap.servers": "kafka:9092", "group.id": "svc", "enable.auto.commit": False}
            )
            try:
                while True:
                    msg = consumer.poll(1.0)
                    if msg is None:
                        continue
                    if msg.error():
                        consumer.commit(message=msg)
                        continue
                    handle(msg)
                    consumer.commit(message=msg, asynchronous=False)
            finally:
                consumer.close()
        """,
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        ix = ctx.index
        for client in ix.kafka_clients:
            if client.role != "consumer":
                continue
            problem = self._auto_commit(ix, client)
            if problem:
                yield self.finding(ctx, client.path, client.line, problem)
        for client in _partial_consumers(ix):
            # built later, often on a worker thread: `functools.partial(KafkaConsumer, ...)`
            problem = self._auto_commit(ix, client)
            if problem:
                yield self.finding(ctx, client.path, client.line, problem)
        seen: set[tuple[str, int]] = set()
        for loop in consume_loops(ix):
            steps = processing_steps(ix, loop, max_depth=2)
            for step in steps:
                for call in self._early_commits(ix, step):
                    key = (step.fn.path, call.lineno)
                    if key in seen:
                        continue
                    seen.add(key)
                    yield self.finding(
                        ctx,
                        step.fn.path,
                        call.lineno,
                        "offset committed before the message is processed: if processing "
                        "fails or the service stops, the message is lost (at-most-once)",
                    )

    @staticmethod
    def _auto_commit(ix: ProjectIndex, client: KafkaClient) -> str | None:
        opts = client_options(ix, client)
        if opts is None:
            return None
        group = client.option("group_id")
        if client.library != "confluent-kafka" and (
            group is None or (isinstance(group, ast.Constant) and group.value is None)
        ):
            return None
        if client.library == "confluent-kafka":
            if "group_id" not in opts:
                return None
            store = truthy(option_value(ix, client, opts.get("enable_auto_offset_store")))
            if store is False:
                return None
        expr = opts.get("enable_auto_commit")
        value = option_value(ix, client, expr)
        flag = truthy(value) if value is not None else True
        if flag is not True:
            return None
        how = "is left on (the default)" if expr is None else "is on"
        return (
            f"{client.library} consumer: auto-commit {how}: offsets are committed on a timer "
            "whether or not the message was processed, so a crash loses messages"
        )

    @staticmethod
    def _early_commits(ix: ProjectIndex, step: Step) -> list[ast.Call]:
        ordered = [s for s in sites(step.region) if not s.in_handler and not s.in_finally]
        commits: list[tuple[ast.Call, int]] = []
        work: list[ast.Call] = []
        for s in ordered:
            node = s.node
            if not isinstance(node, ast.Call):
                continue
            if _is_commit(ix, step.fn, node):
                commits.append((node, node.lineno))
            elif not is_logging(node) and not consumer_api_call(ix, step.fn, node):
                callee = resolve_call(ix, step.fn, node)
                if mentions(node, step.tainted) and (
                    callee is not None or _is_awaited(step.fn, node)
                ):
                    if isinstance(node.func, ast.Attribute) and mentions(
                        node.func.value, step.tainted
                    ):
                        continue  # msg.value() and other accessors
                    work.append(node)
        out: list[ast.Call] = []
        for call, line in commits:
            if _block_ends_after(step.region, call):
                continue
            if any(w.lineno > line for w in work):
                out.append(call)
        return out


def _partial_consumers(ix: ProjectIndex) -> Iterator[KafkaClient]:
    """Consumers built through `functools.partial(ConsumerClass, ...)` (run later, e.g. in
    an executor), with the keys of `**helper()` option dicts the project's helper returns."""
    for m in ix.source_modules:
        if not ix.mentions(m, "partial"):
            continue  # a call resolving to `...partial` spells it (or its import does)
        for fn in m.functions:
            for c in fn.calls:
                node = c.node
                if (c.target or "").rsplit(".", 1)[-1] != "partial" or not node.args:
                    continue
                first = node.args[0]
                text = dotted(first) or ""
                head, _, rest = text.partition(".")
                base = m.imports.get(head, head)
                kind = client_class(f"{base}.{rest}" if rest else base)
                if kind is None or kind[1] != "consumer":
                    continue
                options: dict[str, ast.expr] = {}
                known = True
                for k in node.keywords:
                    if k.arg is not None:
                        options[k.arg] = k.value
                        continue
                    keys = _returned_dict_keys(ix, fn, k.value)
                    if keys is None:
                        known = False
                        break
                    options.update(dict.fromkeys(keys, k.value))
                if not known:
                    continue
                call = ast.Call(func=first, args=node.args[1:], keywords=[])
                call.keywords = [ast.keyword(arg=k, value=v) for k, v in options.items()]
                ast.copy_location(call, first)
                group = options.get("group_id")
                yield KafkaClient(
                    library=kind[0],
                    role="consumer",
                    cls=text,
                    path=m.path,
                    line=first.lineno,
                    node=call,
                    function=fn,
                    options=options,
                    group_id=ix.string_value(m, group) if group is not None else None,
                )


def _returned_dict_keys(ix: ProjectIndex, fn: Function, expr: ast.expr) -> set[str] | None:
    """The keys of the dict literals a project function returns (`**settings.options()`),
    or None when a return is not such a literal or the call cannot be resolved."""
    if not isinstance(expr, ast.Call):
        return None
    callee = resolve_call(ix, fn, expr)
    if callee is None:
        return None
    keys: set[str] = set()
    returns = walk(callee.node, ast.Return)
    if not returns:
        return None
    for r in returns:
        if not isinstance(r.value, ast.Dict):
            return None
        for k in r.value.keys:
            if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
                return None
            keys.add(k.value)
    return keys


def _block_ends_after(region: Region, call: ast.Call) -> bool:
    """Is the commit followed, in its own block, by continue/return/break?"""
    for node in own_walk(region):
        for body in _bodies(node):
            for i, stmt in enumerate(body):
                if any(sub is call for sub in walk(stmt)) and not isinstance(
                    stmt,
                    ast.If
                    | ast.For
                    | ast.AsyncFor
                    | ast.While
                    | ast.Try
                    | ast.With
                    | ast.AsyncWith,
                ):
                    rest = body[i + 1 :]
                    return any(isinstance(r, _CONTINUE_RETURN_BREAK) for r in rest)
    return False


def _bodies(node: ast.AST) -> list[list[ast.stmt]]:
    out: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            out.append(value)
    return out


# --- KAF004 -----------------------------------------------------------------------------


def _dlq_or_retry_call(ix: ProjectIndex, fn: Function, call: ast.Call, depth: int = 0) -> bool:
    text = unparse(call.func)
    if DLQ_WORDS.search(text) or RETRY_WORDS.search(text):
        return True
    if consumer_api_call(ix, fn, call) in {"seek", "seek_to_committed"}:
        return True
    if (
        func_name(call) in {"send", "send_and_wait", "produce", "publish"}
        and call.args
        and DLQ_TOPIC_WORDS.search(unparse(call.args[0]))
    ):
        return True
    if depth < 2:
        callee = resolve_call(ix, fn, call)
        if callee is not None:
            if is_dlq_name(callee.qualname) or RETRY_WORDS.search(callee.name):
                return True
            return any(
                isinstance(n, ast.Call) and _dlq_or_retry_call(ix, callee, n, depth + 1)
                for n in own_walk(callee.node.body, ast.Call)
            )
    return False


class NoDeadLetter(Rule):
    id = "KAF004"
    name = "kafka-failure-without-dlq"
    category = "kafka.no-dlq"
    what = """
        A failure path of message processing that neither retries nor publishes the message
        to a dead-letter topic: an except branch that only logs (or passes, or continues),
        or a processing call in the consume loop whose exceptions nothing catches.
    """
    why = """
        A message whose processing fails is then either lost (logged and skipped, its offset
        committed with the next one) or, when the exception escapes the loop, it kills the
        consumer and comes back after every restart as a poison pill.
    """
    fix = """
        Catch failures per message: retry transient errors with backoff, publish messages
        that still fail (and invalid ones) to a dead-letter topic with the error and the
        original topic/partition/offset in headers, then commit.
    """
    bad: ClassVar[list[Example]] = [
        """
        import logging

        from aiokafka import AIOKafkaConsumer

        log = logging.getLogger(__name__)


        async def handle(msg: object) -> None: ...


        async def run(consumer: AIOKafkaConsumer) -> None:
            async for msg in consumer:
                try:
                    await handle(msg)
                except Exception:  # expect
                    log.exception("processing failed")
                await consumer.commit()
        """,
        """
        from aiokafka import AIOKafkaConsumer

        from app.db import save_order


        async def handle(msg: object) -> None:
            await save_order(msg.value)


        async def run(consumer: AIOKafkaConsumer) -> None:
            async for msg in consumer:
                await handle(msg)  # expect
                await consumer.commit()
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        import asyncio
        import logging

        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

        log = logging.getLogger(__name__)


        async def handle(msg: object) -> None: ...


        async def dead_letter(producer: AIOKafkaProducer, msg: object, error: str) -> None:
            await producer.send_and_wait("orders.dlq", b"...")


        async def process(producer: AIOKafkaProducer, msg: object) -> None:
            for attempt in range(3):
                try:
                    await handle(msg)
                    return
                except ConnectionError:
                    await asyncio.sleep(2**attempt)
                except Exception as exc:
                    await dead_letter(producer, msg, repr(exc))
                    return
            await dead_letter(producer, msg, "retries exhausted")


        async def run(consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
            async for msg in consumer:
                try:
                    await process(producer, msg)
                except asyncio.CancelledError:
                    raise
                await consumer.commit()
        """,
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        ix = ctx.index
        seen: set[tuple[str, int]] = set()
        loops = consume_loops(ix)
        consume_nodes = {id(lp.node) for lp in loops}
        for loop in loops:
            steps = processing_steps(ix, loop)
            for step in steps:
                for h in self._dropping_handlers(ix, step, consume_nodes):
                    key = (step.fn.path, h.lineno)
                    if key not in seen:
                        seen.add(key)
                        types = ", ".join(sorted(handler_type_names(h))) or "exception"
                        yield self.finding(
                            ctx,
                            step.fn.path,
                            h.lineno,
                            f"except {types}: the failed message is only logged/dropped, "
                            "neither retried nor sent to a dead-letter topic",
                        )
            risky = self._unprotected_call(ix, loop)
            if risky is not None and (loop.fn.path, risky.lineno) not in seen:
                seen.add((loop.fn.path, risky.lineno))
                yield self.finding(
                    ctx,
                    loop.fn.path,
                    risky.lineno,
                    f"an exception from {unparse(risky.func)}() escapes the consume loop: the "
                    "message is neither retried nor dead-lettered and the consumer stops "
                    "(poison pill after restart)",
                )

    @staticmethod
    def _dropping_handlers(
        ix: ProjectIndex, step: Step, consume_nodes: set[int]
    ) -> Iterator[ast.ExceptHandler]:
        for s in sites(step.region):
            node = s.node
            if not isinstance(node, TRY_NODES) or not node.handlers:
                continue
            if s.in_handler or s.in_finally:
                continue
            if not _work_calls(ix, step.fn, node.body):
                continue  # only commits/polls inside: offsets, not processing
            if step.parent is not None and _produce_only(ix, step.fn, node.body):
                continue  # a producer's send failing: the outgoing event, not the message
            if not (
                mentions(ast.Module(body=node.body, type_ignores=[]), step.tainted)
                or any(resolve_call(ix, step.fn, c) for c in _work_calls(ix, step.fn, node.body))
            ):
                continue
            inner = s.loops[-1] if s.loops else None
            in_retry_loop = (
                inner is not None
                and id(inner) not in consume_nodes
                # `for msg in batch`: the next iteration is the next message, not a retry
                and not (isinstance(inner, FOR_NODES) and mentions(inner.iter, step.tainted))
            )
            for h in node.handlers:
                if is_stop_handler(h):
                    continue
                if _handler_recovers(ix, step.fn, h, in_retry_loop):
                    continue
                yield h

    def _unprotected_call(self, ix: ProjectIndex, loop: ConsumeLoop) -> ast.Call | None:
        tainted = loop.messages
        for s in sites(loop.body):
            node = s.node
            if s.tries or s.in_handler or s.in_finally or not isinstance(node, ast.Call):
                continue
            if (
                is_logging(node)
                or consumer_api_call(ix, loop.fn, node)
                or _is_commit(ix, loop.fn, node)
            ):
                continue
            if isinstance(node.func, ast.Attribute) and mentions(node.func.value, tainted):
                continue  # msg.value(), msg.error()
            callee = resolve_call(ix, loop.fn, node)
            if callee is not None:
                if is_dlq_name(callee.qualname):
                    continue
                if _may_raise(ix, callee, {loop.fn.fqname}, 0):
                    return node
                continue
            if mentions(node, tainted) and (_is_awaited(loop.fn, node) or _is_parse(loop.fn, node)):
                return node
        return None


def _produce_only(ix: ProjectIndex, fn: Function, body: Region) -> bool:
    """The try body only sends to Kafka (its arguments and a `.get()` on the send's future
    aside): an except around it handles the failure of an outgoing event."""
    sends = send_sites(ix)[0]
    found: list[ast.Call] = [
        n for n in own_walk(body, ast.Call) if isinstance(n, ast.Call) and id(n) in sends
    ]
    if not found:
        return False
    inside: set[int] = set()
    for call in found:
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            inside |= {id(n) for n in walk(arg)}
    for call in _work_calls(ix, fn, body):
        if id(call) in sends or id(call) in inside:
            continue
        recv = receiver(call)
        if isinstance(recv, ast.Await):
            recv = recv.value
        if isinstance(recv, ast.Call) and id(recv) in sends:
            continue  # producer.send(...).get(timeout=...)
        return False
    return True


def _handler_recovers(
    ix: ProjectIndex, fn: Function, h: ast.ExceptHandler, in_retry_loop: bool
) -> bool:
    for node in own_walk(h.body, (ast.Raise, ast.Call, ast.Return)):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call) and _dlq_or_retry_call(ix, fn, node):
            return True
        if (
            isinstance(node, ast.Return)
            and node.value is not None
            and not (isinstance(node.value, ast.Constant) and node.value.value is None)
        ):
            return True  # the caller gets a failure signal and decides
    last = h.body[-1] if h.body else None
    if in_retry_loop and not isinstance(last, _RETURN_BREAK):
        return True
    # a handler that does real work (fallback value, compensation) is not a silent drop
    for node in own_walk(h.body, (_ALL_ASSIGNS, ast.Break)):
        if isinstance(node, _ALL_ASSIGNS):
            return True
        if isinstance(node, ast.Break):
            return True  # leaves the loop uncommitted: redelivered after restart
    return bool(_work_calls(ix, fn, h.body))


def _is_parse(fn: Function, call: ast.Call) -> bool:
    c = fn.call_at(call)
    target = c.target if c is not None else None
    return target in PARSE_FUNCS or func_name(call) in VALIDATE_METHODS


def _retry_decorated(fn: Function) -> bool:
    return any(RETRY_WORDS.search(unparse(d)) for d in fn.node.decorator_list)


def _may_raise(ix: ProjectIndex, fn: Function, seen: set[str], depth: int) -> bool:
    """Can an exception leave `fn` from its processing (not from its except/finally blocks)?"""
    if depth > 5 or fn.fqname in seen or _retry_decorated(fn) or is_dlq_name(fn.qualname):
        return False
    seen = seen | {fn.fqname}
    for s in sites(fn.node.body):
        node = s.node
        if s.tries or s.in_handler or s.in_finally or not isinstance(node, ast.Call):
            continue
        if is_logging(node) or consumer_api_call(ix, fn, node) or _is_commit(ix, fn, node):
            continue
        if func_name(node) == "sleep":
            continue
        callee = resolve_call(ix, fn, node)
        if callee is not None:
            if _may_raise(ix, callee, seen, depth + 1):
                return True
            continue
        if _is_awaited(fn, node) or _is_parse(fn, node):
            return True
    return False


# --- KAF005 -----------------------------------------------------------------------------

_EVENT_KEY = re.compile(
    r"(event|message|msg|idempotency|dedup|delivery)_?(id|key|uuid)", re.IGNORECASE
)
_ATTR_BUILTINS = {"getattr", "hasattr", "setattr", "delattr"}
_DEDUP_CALL = re.compile(
    r"exist|processed|seen|dedup|duplicate|idempot|already|upsert|on_conflict|get_or_create|"
    r"merge|insert_ignore|if_not_exists|inbox",
    re.IGNORECASE,
)
_CREATE_NAMES = re.compile(r"^(create|insert|save|add|persist)(_|$)", re.IGNORECASE)
_NOT_SIDE_EFFECT = re.compile(
    r"^create_(task|engine|app|session|async_engine|consumer|producer|client|default_context)"
    r"|factory|^add_(done_callback|middleware|route|signal_handler|api_route|event_handler|exception_handler)",
    re.IGNORECASE,
)
_SESSION_HINT = re.compile(r"session|db|uow|outbox|repo|crud|store|dao|table", re.IGNORECASE)


def _side_effect(ix: ProjectIndex, fn: Function, call: ast.Call, depth: int = 0) -> bool:
    name = func_name(call)
    if not name or _NOT_SIDE_EFFECT.search(name) or is_logging(call):
        return False
    recv = receiver(call)
    recv_text = (dotted(recv) or "") if recv is not None else ""
    if recv_text.split(".")[0] in {"asyncio", "contextlib", "logging", "structlog", "stack"}:
        return False
    if name in {"add", "add_all"}:
        return bool(_SESSION_HINT.search(recv_text))
    if name in {"send", "send_and_wait", "produce", "publish"} or name.startswith("publish_"):
        text = unparse(call)
        return not (DLQ_WORDS.search(text) or DLQ_TOPIC_WORDS.search(text))
    if name == "insert" and recv is None:
        return True
    if _CREATE_NAMES.match(name):
        callee = resolve_call(ix, fn, call)
        if callee is not None and not is_stub(callee):
            # a project function: judged by what it does, not by its name (`add_months`)
            return _effectful(ix, callee, depth + 1)
        if callee is not None:
            return True  # a stub (interface, placeholder): the name is all there is
        # an unknown free function: stay quiet
        return recv is not None
    return False


def _effectful(ix: ProjectIndex, fn: Function, depth: int) -> bool:
    """Does `fn` (or a project function it calls) write, insert or publish?"""
    if depth > 3:
        return False
    for node in own_walk(fn.node.body, ast.Call):
        if not isinstance(node, ast.Call):
            continue
        if func_name(node) in {"execute", "commit", "flush"} or _side_effect(ix, fn, node, depth):
            return True
        if (
            _is_awaited(fn, node)
            and resolve_call(ix, fn, node) is None
            and not is_logging(node)
            and func_name(node) != "sleep"
        ):
            return True  # awaited I/O outside the project (HTTP, broker, driver)
    return False


_READ_CALLS = frozenset(
    {"get", "get_one", "scalar", "scalar_one", "scalar_one_or_none", "first", "one"}
)
_PERSIST_CALLS = frozenset({"commit", "flush"})
_GUARD_WORDS = re.compile(r"version|sequence|(^|_)seq(_|$)|offset|processed|last_event", re.I)


def _loaded_names(stmts: Region) -> set[str]:
    """Local names bound to a loaded record: `x = await repo.get(...)`, `x = res.scalar_one()`."""
    out: set[str] = set()
    for node in own_walk(stmts, ASSIGN_NODES):
        if isinstance(node, ASSIGN_NODES) and node.value is not None:
            value = node.value
            loaded = any(isinstance(n, ast.Await) for n in walk(value, ast.Await)) or (
                isinstance(value, ast.Call) and func_name(value) in _READ_CALLS
            )
            if loaded:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                out |= {t.id for t in targets if isinstance(t, ast.Name)}
    return out


def _relative_update(stmts: Region) -> ast.stmt | ast.Call | None:
    """A read-modify-write of stored state: `rec.n += 1`, `rec.end = f(rec.end)`,
    `update(T).values(n=T.n + 1)` — applying it twice gives another result."""
    loaded = _loaded_names(stmts)
    derived: dict[str, set[tuple[str, str]]] = {}  # local -> stored attributes it was read from
    for node in own_walk(stmts, (ast.Assign, ast.AugAssign, ast.Call)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            tgt = node.targets[0]
            reads = {
                (a.value.id, a.attr)
                for a in walk(node.value, ast.Attribute)
                if isinstance(a.value, ast.Name) and a.value.id in loaded
            }
            if isinstance(tgt, ast.Name) and reads:
                derived[tgt.id] = reads
            elif (
                isinstance(tgt, ast.Attribute)
                and isinstance(tgt.value, ast.Name)
                and tgt.value.id in loaded
            ):
                key = (tgt.value.id, tgt.attr)
                via = set().union(*(derived.get(n, set()) for n in names_in(node.value)))
                if key in reads or key in via:
                    return node
        elif (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Attribute)
            and isinstance(node.target.value, ast.Name)
            and node.target.value.id in loaded
        ):
            return node
        elif isinstance(node, ast.Call) and func_name(node) == "values":
            for k in node.keywords:
                if k.arg and any(
                    isinstance(a, ast.Attribute) and a.attr == k.arg
                    for a in walk(k.value, ast.Attribute)
                    if not isinstance(k.value, ast.Attribute)
                ):
                    return node
    return None


def _persists(ix: ProjectIndex, fn: Function) -> bool:
    """`fn` commits or flushes a DB session (a consumer's offset commit does not count)."""
    return any(
        isinstance(n, ast.Call)
        and func_name(n) in _PERSIST_CALLS
        and not consumer_api_call(ix, fn, n)
        for n in own_walk(fn.node.body, ast.Call)
    )


def _state_guard(stmts: Region) -> bool:
    """A comparison against an event id, version or sequence before applying the event."""
    for node in own_walk(stmts, ast.Compare):
        if isinstance(node, ast.Compare):
            for sub in walk(node):
                name = (
                    sub.attr
                    if isinstance(sub, ast.Attribute)
                    else sub.id
                    if isinstance(sub, ast.Name)
                    else ""
                )
                if name and (_EVENT_KEY.search(name) or _GUARD_WORDS.search(name)):
                    return True
    return False


def _exits(body: Region) -> bool:
    last = body[-1] if body else None
    return isinstance(last, _RETURN_CONTINUE)


def _keyed_lookup(expr: ast.expr, tainted: set[str]) -> bool:
    """`await repo.x(event.key)`, `repo.x(event.key)`, `q.filter_by(id=event.id).first()`:
    a lookup keyed by message data (not a method of the message, not a builtin test)."""
    awaited = isinstance(expr, ast.Await)
    if isinstance(expr, ast.Await):
        expr = expr.value
    if not isinstance(expr, ast.Call) or is_logging(expr):
        return False
    f = expr.func
    if isinstance(f, ast.Name):
        if not awaited:
            return False  # isinstance(event, X), len(...), a pure helper
    elif isinstance(f, ast.Attribute):
        root: ast.expr = f.value
        while isinstance(root, _ATTRIBUTE_CALL_SUBSCRIPT):
            root = root.func if isinstance(root, ast.Call) else root.value
        if isinstance(root, ast.Name) and (root.id in tainted or root.id in _PURE_MODULES):
            return False  # event.is_test(), re.match(...), json.loads(...)
    else:
        return False
    return mentions(expr, tainted)


_PURE_MODULES = frozenset(
    {"re", "json", "math", "os", "datetime", "time", "uuid", "str", "dict", "list", "set"}
)


def _lookup_guard(stmts: Region, tainted: set[str]) -> bool:
    """An early exit when a lookup keyed by the message finds something:
    `if await repo.x(event.key): return` or `found = await repo.x(event.key)` then
    `if found: return` / `if found is not None: return`. "Already there, skip" is the
    shape of a deduplication check whatever the lookup is called; a `None` test
    (`if account is None: return`, "not there, skip") is not."""
    if not tainted:
        return False
    looked_up: set[str] = set()
    for node in own_walk(stmts):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and _keyed_lookup(node.value, tainted)
        ):
            looked_up.add(node.targets[0].id)
        if not isinstance(node, ast.If) or not _exits(node.body):
            continue
        test = node.test
        if (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.IsNot)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
        ):
            test = test.left
        if _keyed_lookup(test, tainted):
            return True
        if isinstance(test, ast.Name) and test.id in looked_up:
            return True
    return False


def _dedup_evidence(ix: ProjectIndex, fn: Function, stmts: Region, depth: int = 0) -> bool:
    for node in own_walk(stmts, (ast.Call, ast.Constant)):
        if isinstance(node, ast.Call):
            name = func_name(node)
            if _DEDUP_CALL.search(name):
                return True
            if name in _ATTR_BUILTINS:
                continue  # `getattr(event, "event_id")` reads the message, looks nothing up
            if re.match(r"(get|find|select|fetch|load|lookup)", name, re.IGNORECASE) and any(
                _EVENT_KEY.search(unparse(a))
                for a in [*node.args, *(k.value for k in node.keywords)]
            ):
                return True
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "on conflict" in node.value.lower()
        ):
            return True
    return False


def _callee_upserts(ix: ProjectIndex, fn: Function, call: ast.Call, depth: int = 0) -> bool:
    callee = resolve_call(ix, fn, call)
    if callee is None or depth > 2:
        return False
    if _dedup_evidence(ix, callee, callee.node.body):
        return True
    return any(
        isinstance(n, ast.Call) and _callee_upserts(ix, callee, n, depth + 1)
        for n in own_walk(callee.node.body, ast.Call)
    )


def _unique_event_column(ix: ProjectIndex, call: ast.Call) -> bool:
    """The call stores an event-id-like field that an ORM model declares unique."""
    keys = {k.arg for sub in walk(call, ast.Call) for k in sub.keywords if k.arg}
    keys = {k for k in keys if _EVENT_KEY.search(k)}
    if not keys:
        return False
    for model in ix.orm_models.values():
        for attr in keys:
            col = model.columns.get(attr) or next(
                (c for c in model.columns.values() if c.attr == attr), None
            )
            if col is not None and truthy(literal(col.options.get("unique"))):
                return True
            text = unparse(model.cls.node)
            if re.search(rf"UniqueConstraint\([^)]*['\"]{attr}['\"]", text):
                return True
    return False


class ConsumerIdempotency(Rule):
    id = "KAF005"
    name = "kafka-consumer-not-idempotent"
    category = "kafka.consumer-idempotency"
    what = """
        A message handler (reached from a consume loop) that inserts, creates or publishes
        without any deduplication: no processed-events check, no lookup by event id, no
        upsert / ON CONFLICT, no unique constraint on the stored event id.
    """
    why = """
        Kafka delivers at least once: a rebalance, a retry or a crash before the commit
        replays the message, and the handler then creates the row, the notification or the
        downstream event a second time.
    """
    fix = """
        Record processed event ids (a processed-events table checked in the same
        transaction), or make the write an upsert keyed by the event id
        (`on_conflict_do_nothing`), or put a unique constraint on the stored event id.
    """
    bad: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaConsumer
        from pydantic import BaseModel


        class OrderShipped(BaseModel):
            event_id: str
            order_id: str


        class Repo:
            async def create(self, order_id: str) -> None: ...


        async def handle_shipped(repo: Repo, event: OrderShipped) -> None:  # expect
            await repo.create(event.order_id)


        async def run(consumer: AIOKafkaConsumer, repo: Repo) -> None:
            try:
                async for msg in consumer:
                    await handle_shipped(repo, OrderShipped.model_validate_json(msg.value))
                    await consumer.commit()
            finally:
                await consumer.stop()
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaConsumer
        from pydantic import BaseModel


        class OrderShipped(BaseModel):
            event_id: str
            order_id: str


        class Repo:
            async def create(self, order_id: str) -> None: ...
            async def is_processed(self, event_id: str) -> bool: ...
            async def mark_processed(self, event_id: str) -> None: ...


        async def handle_shipped(repo: Repo, event: OrderShipped) -> None:
            if await repo.is_processed(event.event_id):
                return
            await repo.create(event.order_id)
            await repo.mark_processed(event.event_id)


        async def run(consumer: AIOKafkaConsumer, repo: Repo) -> None:
            try:
                async for msg in consumer:
                    await handle_shipped(repo, OrderShipped.model_validate_json(msg.value))
                    await consumer.commit()
            finally:
                await consumer.stop()
        """,
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        ix = ctx.index
        reported: set[str] = set()
        for loop in consume_loops(ix):
            steps = processing_steps(ix, loop)
            children: dict[int, list[Step]] = {}
            for st in steps:
                if st.parent is not None:
                    children.setdefault(id(st.parent), []).append(st)
            root = steps[0]
            stack: list[tuple[Step, bool]] = [(root, False)]
            while stack:
                step, covered = stack.pop()
                region = step.region
                covered = (
                    covered
                    or _dedup_evidence(ix, step.fn, region)
                    or _state_guard(region)
                    or _lookup_guard(region, step.tainted)
                )
                effects: list[ast.stmt | ast.Call] = [
                    s.node
                    for s in sites(region)
                    if isinstance(s.node, ast.Call)
                    and not s.in_handler
                    and not s.in_finally
                    and _side_effect(ix, step.fn, s.node)
                ]
                if not effects and step is not root:
                    update = _relative_update(region)
                    if update is not None and any(_persists(ix, f) for f in step.chain):
                        effects = [update]
                if effects:
                    if (
                        not covered
                        and step.fn.fqname not in reported
                        and step is not root
                        and not any(
                            _callee_upserts(ix, step.fn, c) or _unique_event_column(ix, c)
                            for c in effects
                            if isinstance(c, ast.Call)
                        )
                    ):
                        reported.add(step.fn.fqname)
                        first = effects[0]
                        if isinstance(first, ast.Call):
                            what = f"writes/publishes ({unparse(first.func)})"
                        else:
                            what = f"updates stored state relative to its old value (line {first.lineno})"
                        yield self.finding(
                            ctx,
                            step.fn.path,
                            step.fn.line,
                            f"{step.fn.name}() {what} without a deduplication "
                            "check: a redelivered message repeats the side effect",
                            evidence=ctx.line_text(step.fn.path, first.lineno),
                        )
                    continue
                for child in children.get(id(step), []):
                    stack.append((child, covered))


# --- KAF006 -----------------------------------------------------------------------------


def _validated(ix: ProjectIndex, fn: Function, name: str, depth: int = 0) -> bool:
    """Is the whole value `name` handed to a Pydantic model / TypeAdapter in `fn`?"""
    for node in own_walk(fn.node.body, ast.Call):
        if not isinstance(node, ast.Call):
            continue
        direct = any(isinstance(a, ast.Name) and a.id == name for a in node.args)
        starred = any(
            k.arg is None and isinstance(k.value, ast.Name) and k.value.id == name
            for k in node.keywords
        )
        if not (direct or starred):
            continue
        if func_name(node) in VALIDATE_METHODS or starred:
            return True
        target = fn.call_at(node)
        if target is not None and target.target and target.target in ix.pydantic_models:
            return True
        callee = resolve_call(ix, fn, node)
        if callee is not None and depth < 2:
            params = [p.arg for p in callee.node.args.args if p.arg not in {"self", "cls"}]
            for p, a in zip(params, node.args, strict=False):
                if (
                    isinstance(a, ast.Name)
                    and a.id == name
                    and _validated(ix, callee, p, depth + 1)
                ):
                    return True
    return False


class UnvalidatedMessage(Rule):
    id = "KAF006"
    name = "kafka-message-without-schema"
    category = "kafka.unvalidated-message"
    what = """
        A consumed message parsed with `json.loads` (or a `value_deserializer` that does it)
        and read by dict indexing instead of being validated by a Pydantic model
        (`Model.model_validate_json(...)`, `TypeAdapter(...).validate_python(...)`).
    """
    why = """
        Without a schema a malformed or evolved event fails deep inside the handler with a
        KeyError/TypeError, or worse passes wrong types into the database; the failure is
        not classified, so it cannot be dead-lettered as invalid.
    """
    fix = """
        Define the event as a Pydantic model and parse the payload with
        `Event.model_validate_json(msg.value)`; send ValidationError to the dead-letter topic.
    """
    bad: ClassVar[list[Example]] = [
        """
        import json

        from aiokafka import AIOKafkaConsumer


        async def mark_paid(order_id: str) -> None: ...


        async def handle(raw: bytes) -> None:
            data = json.loads(raw)  # expect
            await mark_paid(data["order_id"])


        async def run(consumer: AIOKafkaConsumer) -> None:
            try:
                async for msg in consumer:
                    await handle(msg.value)
            finally:
                await consumer.stop()
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        import json

        from aiokafka import AIOKafkaConsumer
        from pydantic import BaseModel


        class PaymentCompleted(BaseModel):
            order_id: str


        async def mark_paid(order_id: str) -> None: ...


        async def handle(raw: bytes) -> None:
            data = json.loads(raw)
            event = PaymentCompleted.model_validate(data)
            await mark_paid(event.order_id)


        async def run(consumer: AIOKafkaConsumer) -> None:
            try:
                async for msg in consumer:
                    await handle(msg.value)
            finally:
                await consumer.stop()
        """,
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        ix = ctx.index
        seen: set[tuple[str, int]] = set()
        any_validation = False
        for loop in consume_loops(ix):
            for step in processing_steps(ix, loop):
                for s in sites(step.region):
                    node = s.node
                    if not isinstance(node, ast.Call) or s.in_handler:
                        continue
                    c = step.fn.call_at(node)
                    if func_name(node) in VALIDATE_METHODS or (
                        c is not None and c.target in ix.pydantic_models
                    ):
                        any_validation = True
                    if not _is_parse(step.fn, node) or func_name(node) in VALIDATE_METHODS:
                        continue
                    if not mentions(node, step.tainted):
                        continue
                    if self._result_validated(ix, step, node):
                        continue
                    key = (step.fn.path, node.lineno)
                    if key not in seen:
                        seen.add(key)
                        yield self.finding(
                            ctx,
                            step.fn.path,
                            node.lineno,
                            f"message payload parsed with {unparse(node.func)}() and used as a "
                            "dict, not validated by a Pydantic model",
                        )
        if any_validation:
            return
        for client in ix.kafka_clients:
            deser = client.option("value_deserializer")
            if (
                client.role == "consumer"
                and deser is not None
                and any(
                    isinstance(n, NAME_OR_ATTRIBUTE) and (dotted(n) or "").endswith("loads")
                    for n in walk(deser, NAME_OR_ATTRIBUTE)
                )
            ):
                yield self.finding(
                    ctx,
                    client.path,
                    deser.lineno,
                    "value_deserializer turns messages into plain dicts (json.loads) and no "
                    "Pydantic model validates them",
                )

    @staticmethod
    def _result_validated(ix: ProjectIndex, step: Step, call: ast.Call) -> bool:
        fn = step.fn
        parent = _parent(fn.node, call)
        if isinstance(parent, ast.Call) and parent is not call:
            if func_name(parent) in VALIDATE_METHODS or any(
                k.arg is None and k.value is call for k in parent.keywords
            ):
                return True
            c = fn.call_at(parent)
            if c is not None and c.target in ix.pydantic_models:
                return True
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            t = parent.targets[0]
            if isinstance(t, ast.Name):
                if _validated(ix, fn, t.id):
                    return True
                returned = any(
                    isinstance(n, ast.Return)
                    and n.value is not None
                    and t.id in names_in(n.value)
                    and isinstance(n.value, ast.Name)
                    for n in own_walk(fn.node.body, ast.Return)
                )
                if returned:
                    return ConsumerReturnCheck.caller_validates(ix, step)
        if isinstance(parent, ast.Return):
            return ConsumerReturnCheck.caller_validates(ix, step)
        return False


class ConsumerReturnCheck:
    """The parsed dict is returned to the caller: does the caller validate it?"""

    @staticmethod
    def caller_validates(ix: ProjectIndex, step: Step) -> bool:
        if step.parent is None or step.call is None:
            return False
        pfn = step.parent.fn
        assign = _parent(pfn.node, step.call)
        if isinstance(assign, ast.Await):
            assign = _parent(pfn.node, assign)
        if isinstance(assign, ast.Assign) and len(assign.targets) == 1:
            t = assign.targets[0]
            if isinstance(t, ast.Name):
                return _validated(ix, pfn, t.id)
        if isinstance(assign, ast.Call):
            return func_name(assign) in VALIDATE_METHODS
        return False


# --- KAF007 -----------------------------------------------------------------------------

# words that name a correlation, request or trace id (`trace` covers `traceparent`),
# searched as plain substrings (module texts are searched in lower case)
_CORRELATION_WORDS = (
    "correlation",
    "requestid",
    "request_id",
    "request-id",
    "trace",
    "span_id",
    "causation",
    "x-request",
)


def _names_an_id(text: str) -> bool:
    return contains_any(text, _CORRELATION_WORDS)


def _params(fn: Function) -> set[str]:
    a = fn.node.args
    return {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]} - {"self", "cls"}


class NoCorrelationId(Rule):
    id = "KAF007"
    name = "kafka-event-without-correlation-id"
    category = "kafka.no-correlation-id"
    what = """
        A produced message without headers, or with headers that carry no correlation /
        trace id, so an event cannot be tied to the request (or upstream event) that caused it.
        LOW instead of MEDIUM when the project has a tech design that never asks for ids on
        events (a checklist recommendation then, not a stated requirement).
    """
    why = """
        When an order is lost between two services, the correlation id in the event headers
        and in every log line is what lets an operator follow it; without it each service's
        logs are an island.
    """
    fix = """
        Keep the request's correlation id in a contextvar (set by middleware) and add it to
        every produced message: `headers=[("correlation_id", cid.encode())]`; read it back in
        the consumer and bind it to the log context.
    """
    bad: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        producer = AIOKafkaProducer(bootstrap_servers="kafka:9092", enable_idempotence=True)


        async def publish(payload: bytes) -> None:
            try:
                await producer.send_and_wait("orders.created", payload)  # expect
            except KafkaError:
                raise
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        from contextvars import ContextVar

        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        producer = AIOKafkaProducer(bootstrap_servers="kafka:9092", enable_idempotence=True)
        correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")


        async def publish(payload: bytes) -> None:
            headers = [("event_type", b"order_created")]
            headers.append(("correlation_id", correlation_id.get().encode()))
            try:
                await producer.send_and_wait("orders.created", payload, headers=headers)
            except KafkaError:
                raise


        async def forward(payload: bytes, headers: list[tuple[str, bytes]]) -> None:
            try:
                await producer.send_and_wait("orders.copy", payload, headers=headers)
            except KafkaError:
                raise
        """,
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        ix = ctx.index
        app_has_id = any(_names_an_id(text) for _, text in source_text(ix))
        asked = design_asks_ids_on_events(ctx.design_text)
        severity = Severity.LOW if asked is False else None
        for f in self._findings(ctx, app_has_id):
            if severity is not None:
                f.severity = severity
                f.message += " (the design does not ask for ids on events: a recommendation)"
            yield f

    def _findings(self, ctx: Context, app_has_id: bool) -> Iterator[Finding]:
        ix = ctx.index
        for send in ix.kafka_sends:
            if library_of_send(ix, send) is None:
                continue
            if send.method not in {"send", "send_and_wait", "produce"}:
                continue
            headers = next((k.value for k in send.node.keywords if k.arg == "headers"), None)
            if headers is None:
                where = (
                    "while the app has one" if app_has_id else "and the app has no correlation id"
                )
                yield self.finding(
                    ctx,
                    send.path,
                    send.line,
                    f"message produced without headers: no correlation id travels with the event {where}",
                )
                continue
            if self._carries_id(ix, send.function, headers):
                continue
            yield self.finding(
                ctx,
                send.path,
                send.line,
                "message headers carry no correlation/trace id",
            )

    @staticmethod
    def _carries_id(ix: ProjectIndex, fn: Function, headers: ast.expr) -> bool:
        if _names_an_id(unparse(headers)):
            return True
        names = names_in(headers)
        if names & _params(fn):
            return True  # passed in by the caller: cannot tell here
        texts: list[str] = []
        for node in own_walk(fn.node.body, (_ALL_ASSIGNS, ast.Call)):
            if isinstance(node, _ALL_ASSIGNS):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(names_in(t) & names for t in targets) and node.value is not None:
                    texts.append(unparse(node.value))
                    if names_in(node.value) & _params(fn):
                        return True
                    if isinstance(node.value, ast.Call):
                        callee = resolve_call(ix, fn, node.value)
                        if callee is not None:
                            texts.append(unparse(callee.node))
            elif isinstance(node, ast.Call):
                recv = receiver(node)
                if recv is not None and names_in(recv) & names:
                    texts.append(unparse(node))
                    for a in node.args:
                        if isinstance(a, ast.Call):
                            callee = resolve_call(ix, fn, a)
                            if callee is not None:
                                texts.append(unparse(callee.node))
        return any(_names_an_id(t) for t in texts)


_DESIGN_IDS = re.compile(
    r"correlation|causation|request[ _-]?ids?\b|trace[ _-]?(id|context)|traceparent|x-request",
    re.IGNORECASE,
)
_DESIGN_EVENTS = re.compile(
    r"kafka|events?\b|topics?\b|produc|publish|broker|consum|messages\b|message tracing",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n\s*(?:[-*+|]|\d+[.)])\s")


def design_asks_ids_on_events(text: str) -> bool | None:
    """Does the design ask for correlation/trace ids on events (one sentence naming both)?
    None without a design: the review standard alone applies then."""
    if not text.strip():
        return None
    for sentence in _SENTENCE.split(text):
        if _DESIGN_IDS.search(sentence) and _DESIGN_EVENTS.search(sentence):
            return True
    return False


# --- KAF008 -----------------------------------------------------------------------------

_LAG = re.compile(  # searched in lower-case text
    r"\blag\b|_lag\b|\blag_|consumer_lag|highwater|end_offsets|last_stable_offset|"
    r"get_watermark_offsets|records_lag"
)
_LAG_WORDS = ("lag", "highwater", "end_offsets", "last_stable_offset", "watermark")


class NoLagMonitoring(Rule):
    id = "KAF008"
    name = "kafka-no-lag-monitoring"
    category = "kafka.no-lag-monitoring"
    what = """
        A service that consumes from Kafka but exposes no consumer-lag signal (no use of
        `highwater()` / `end_offsets()` / watermark offsets, no lag metric or health field).
    """
    why = """
        A consumer that is alive but falling behind looks healthy to every probe; lag is the
        signal that tells operators events are piling up before users notice.
    """
    fix = """
        Export per-partition lag (`highwater(tp) - position(tp)` in aiokafka,
        `get_watermark_offsets` in confluent-kafka) as a metric and include it in readiness.
    """
    bad: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer("orders", group_id="svc", enable_auto_commit=False)  # expect
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer("orders", group_id="svc", enable_auto_commit=False)


        async def lag(tp: TopicPartition) -> int:
            return consumer.highwater(tp) - await consumer.position(tp)
        """,
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        ix = ctx.index
        consumers = [c for c in ix.kafka_clients if c.role == "consumer"]
        if not consumers:
            return
        if any(_LAG.search(text) for _, text in source_text(ix) if contains_any(text, _LAG_WORDS)):
            return
        first = min(consumers, key=lambda c: (c.path, c.line))
        yield self.finding(
            ctx,
            first.path,
            first.line,
            "the service consumes from Kafka but exposes no consumer-lag metric or health signal",
        )
