"""Database rules on hand-written fixture projects: exact rule, file and line."""

from __future__ import annotations

from fastapi_review.models import Finding, Severity
from fastapi_review.rules.base import Rule
from fastapi_review.rules.db import (
    CommitThenPublish,
    EngineWithoutPoolSettings,
    LazyLoadOnAsyncResult,
    ModelsVsMigrations,
    QueryInLoop,
    SqlBuiltFromInput,
    SyncDriverInAsyncApp,
    UnboundedListQuery,
)
from fastapi_review.rules.examples import run_example


def hits(rule: type[Rule], files: dict[str, str]) -> list[Finding]:
    return [f for f in run_example(rule, files) if f.rule == rule.id]


def where(findings: list[Finding]) -> list[tuple[str | None, int | None]]:
    return sorted((f.path, f.line) for f in findings)


MODELS = """
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    books: Mapped[list["Book"]] = relationship(back_populates="author")
    awards: Mapped[list["Award"]] = relationship(lazy="selectin")


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    title: Mapped[str] = mapped_column("book_title", String(200))
    author: Mapped[Author] = relationship(back_populates="books")


class Award(Base):
    __tablename__ = "awards"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
"""


# --- DB001 ------------------------------------------------------------------------------


def test_sync_engine_used_from_async_code_through_a_helper() -> None:
    files = {
        "app/db.py": """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker

            engine = create_engine("postgresql+psycopg2://app@db/app", pool_size=5)
            SessionLocal = sessionmaker(bind=engine)
        """,
        "app/repo.py": """
            from sqlalchemy import text

            from app.db import SessionLocal

            def count() -> int:
                with SessionLocal() as s:
                    return s.execute(text("SELECT 1")).scalar_one()
        """,
        "app/api.py": """
            from app.repo import count

            async def handler() -> int:
                return count()
        """,
    }
    found = hits(SyncDriverInAsyncApp, files)
    assert where(found) == [("app/db.py", 4), ("app/db.py", 5)]
    assert found[0].severity is Severity.BLOCKER
    assert "app/repo.py:7" in found[0].message


def test_sync_engine_only_in_sync_code_is_quiet() -> None:
    files = {
        "app/db.py": """
            from sqlalchemy import create_engine, text
            from sqlalchemy.orm import sessionmaker

            engine = create_engine("postgresql+psycopg2://app@db/app", pool_size=5)
            SessionLocal = sessionmaker(bind=engine)

            def count() -> int:
                with SessionLocal() as s:
                    return s.execute(text("SELECT 1")).scalar_one()

            async def health() -> bool:
                return True
        """
    }
    assert hits(SyncDriverInAsyncApp, files) == []


def test_async_engine_with_sync_driver_from_settings() -> None:
    files = {
        "app/settings.py": """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                database_url: str = "postgresql+psycopg2://app@db/app"
        """,
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import Settings

            settings = Settings()
            engine = create_async_engine(settings.database_url, pool_pre_ping=True)
        """,
    }
    assert where(hits(SyncDriverInAsyncApp, files)) == [("app/db.py", 6)]


# --- DB002 ------------------------------------------------------------------------------


def test_lazy_relationship_after_session_get_and_repository() -> None:
    files = {
        "app/models.py": MODELS,
        "app/repo.py": """
            from collections.abc import Sequence

            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession
            from sqlalchemy.orm import selectinload

            from app.models import Author


            class AuthorRepo:
                def __init__(self, session: AsyncSession) -> None:
                    self.session = session

                async def plain(self, author_id: int) -> Author | None:
                    return await self.session.scalar(select(Author).where(Author.id == author_id))

                async def eager(self, author_id: int) -> Author | None:
                    stmt = select(Author).options(selectinload(Author.books))
                    return await self.session.scalar(stmt.where(Author.id == author_id))
        """,
        "app/service.py": """
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.models import Author, Book
            from app.repo import AuthorRepo


            async def titles(repo: AuthorRepo, author_id: int) -> list[str]:
                author = await repo.plain(author_id)
                awards = len(author.awards)
                return [b.title for b in author.books] + [str(awards)]


            async def titles_ok(repo: AuthorRepo, author_id: int) -> list[str]:
                author = await repo.eager(author_id)
                return [b.title for b in author.books]


            async def book_author(session: AsyncSession, book_id: int) -> str:
                book = await session.get(Book, book_id)
                first = book.author.name
                await session.refresh(book, ["author"])
                return first + book.title


            async def refreshed(session: AsyncSession, book_id: int) -> str:
                book = await session.get(Book, book_id)
                await session.refresh(book, attribute_names=["author"])
                return book.author.name
        """,
    }
    found = hits(LazyLoadOnAsyncResult, files)
    assert where(found) == [("app/service.py", 10), ("app/service.py", 20)]
    assert "author.books" in found[0].message and "AuthorRepo.plain" in found[0].message


# --- DB003 ------------------------------------------------------------------------------


def test_repository_call_per_item_in_loop() -> None:
    files = {
        "app/crud.py": """
            from sqlalchemy import update
            from sqlalchemy.ext.asyncio import AsyncSession

            async def redact(session: AsyncSession, ticket_id: int) -> None:
                await session.execute(update(object).where(ticket_id == 1))

            async def log(ticket_id: int) -> None:
                return None
        """,
        "app/service.py": """
            from sqlalchemy.ext.asyncio import AsyncSession

            from app import crud

            async def anonymise(session: AsyncSession, tickets: list[object]) -> None:
                for ticket in tickets:
                    ticket.email = None
                    await crud.log(ticket.id)
                    await crud.redact(session, ticket.id)
                for _ in range(3):
                    await crud.redact(session, 0)
        """,
    }
    found = hits(QueryInLoop, files)
    assert where(found) == [("app/service.py", 9)]
    assert found[0].category == "db.n-plus-one"


# --- DB004 ------------------------------------------------------------------------------

MIGRATION_1 = """
import sqlalchemy as sa
from alembic import op

revision = "001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "books",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("books")
    op.drop_table("authors")
"""

MIGRATION_2 = """
import sqlalchemy as sa
from alembic import op

revision = "002"
down_revision = "001"


def upgrade() -> None:
    with op.batch_alter_table("books") as batch_op:
        batch_op.alter_column("title", new_column_name="book_title")


def downgrade() -> None:
    op.drop_column("books", "book_title")
"""


def test_models_compared_with_migrations_in_revision_order() -> None:
    files = {
        "app/models.py": MODELS,
        "migrations/versions/002_rename.py": MIGRATION_2,
        "migrations/versions/001_init.py": MIGRATION_1,
    }
    found = hits(ModelsVsMigrations, files)
    # the awards table is missing; the renamed title column is fine (002 runs after 001)
    assert where(found) == [("app/models.py", 25)]
    assert "awards" in found[0].message and found[0].severity is Severity.HIGH


def test_missing_column_reported_at_model_line() -> None:
    migration = MIGRATION_1.replace(
        '        sa.Column("title", sa.String(200), nullable=False),\n', ""
    ).replace(
        "def downgrade",
        "def _unused() -> None:\n    pass\n\n\ndef downgrade",
    )
    files = {
        "app/models.py": MODELS,
        "migrations/versions/001_init.py": migration,
        "migrations/versions/003_awards.py": """
            import sqlalchemy as sa
            from alembic import op

            revision = "003"
            down_revision = "001"

            def upgrade() -> None:
                op.create_table("awards", sa.Column("id", sa.Integer()))
                op.add_column("awards", sa.Column("author_id", sa.Integer()))
                op.execute("UPDATE authors SET name = 'x'")

            def downgrade() -> None:
                op.drop_table("awards")
        """,
    }
    assert where(hits(ModelsVsMigrations, files)) == [("app/models.py", 21)]


def test_no_migrations_at_all_is_a_project_level_finding() -> None:
    found = hits(ModelsVsMigrations, {"app/models.py": MODELS})
    assert where(found) == [(None, None)]
    assert "3 ORM model(s)" in found[0].message


# --- DB005 ------------------------------------------------------------------------------


def test_commit_then_publish_through_a_publisher() -> None:
    files = {
        "app/events.py": """
            from aiokafka import AIOKafkaProducer

            class Publisher:
                def __init__(self, producer: AIOKafkaProducer) -> None:
                    self._producer = producer

                async def publish(self, topic: str, value: bytes) -> None:
                    await self._producer.send_and_wait(topic, value)
        """,
        "app/service.py": """
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.events import Publisher

            class Service:
                def __init__(self, session: AsyncSession, publisher: Publisher) -> None:
                    self._session = session
                    self._publisher = publisher

                async def create(self, row: object) -> None:
                    self._session.add(row)
                    await self._session.commit()
                    await self._publisher.publish("rows.created", b"{}")

                async def publish_first(self, row: object) -> None:
                    self._session.add(row)
                    await self._publisher.publish("rows.created", b"{}")
                    await self._session.commit()
        """,
    }
    found = hits(CommitThenPublish, files)
    assert where(found) == [("app/service.py", 12)]
    assert found[0].severity is Severity.MEDIUM


# --- DB006 ------------------------------------------------------------------------------


def test_engine_pool_settings() -> None:
    files = {
        "app/db.py": """
            from sqlalchemy import create_engine
            from sqlalchemy.ext.asyncio import create_async_engine

            a = create_async_engine("postgresql+asyncpg://db/app")
            b = create_engine("postgresql://db/app", pool_pre_ping=True)
            c = create_async_engine("sqlite+aiosqlite:///x.db")

            def make(url: str, **kw: object) -> object:
                return create_async_engine(url, **kw)
        """
    }
    found = hits(EngineWithoutPoolSettings, files)
    assert where(found) == [("app/db.py", 4)]
    assert found[0].severity is Severity.LOW


# --- DB007 ------------------------------------------------------------------------------


def test_unbounded_query_only_when_a_route_reaches_it() -> None:
    files = {
        "app/models.py": MODELS,
        "app/repo.py": """
            from collections.abc import Sequence

            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.models import Book


            async def books_of(session: AsyncSession, author_id: int) -> Sequence[Book]:
                stmt = (
                    select(Book)
                    .where(Book.author_id == author_id)
                    .order_by(Book.id)
                )
                return (await session.scalars(stmt)).all()


            async def all_books_for_export(session: AsyncSession) -> Sequence[Book]:
                return (await session.scalars(select(Book))).all()


            async def books_by_ids(session: AsyncSession, ids: list[int]) -> Sequence[Book]:
                return (await session.scalars(select(Book).where(Book.id.in_(ids)))).all()
        """,
        "app/api.py": """
            from fastapi import APIRouter
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.repo import books_by_ids, books_of

            router = APIRouter()


            @router.get("/authors/{author_id}/books")
            async def list_books(author_id: int, session: AsyncSession) -> list[int]:
                return [b.id for b in await books_of(session, author_id)]


            @router.get("/books")
            async def some_books(ids: list[int], session: AsyncSession) -> list[int]:
                return [b.id for b in await books_by_ids(session, ids)]
        """,
    }
    found = hits(UnboundedListQuery, files)
    assert where(found) == [("app/repo.py", 10)]
    assert found[0].category == "db.unbounded-query"


def test_filtered_query_reached_only_from_an_item_route_is_bounded_by_it() -> None:
    files = {
        "app/models.py": MODELS,
        "app/repo.py": """
            from collections.abc import Sequence

            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.models import Book


            async def books_of(session: AsyncSession, author_id: int) -> Sequence[Book]:
                stmt = select(Book).where(Book.author_id == author_id)
                return (await session.scalars(stmt)).all()


            async def every_book(session: AsyncSession) -> Sequence[Book]:
                return (await session.scalars(select(Book))).all()
        """,
        "app/api.py": """
            from fastapi import APIRouter
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.repo import books_of, every_book

            router = APIRouter()


            @router.get("/authors/{author_id}")
            async def author(author_id: int, session: AsyncSession) -> dict[str, int]:
                books = await books_of(session, author_id)
                return {"books": len(books), "all": len(await every_book(session))}
        """,
    }
    assert where(hits(UnboundedListQuery, files)) == [("app/repo.py", 15)]


# --- DB008 ------------------------------------------------------------------------------


def test_sql_built_with_formatting() -> None:
    files = {
        "app/crud.py": """
            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import AsyncSession

            TABLE = "tickets"


            async def search(session: AsyncSession, q: str, order: str) -> None:
                await session.execute(text(f"SELECT * FROM {TABLE} WHERE subject = '{q}'"))
                await session.execute(text("SELECT * FROM t ORDER BY {}".format(order)))
                await session.execute(text("SELECT * FROM t WHERE a = '" + q + "'"))
                await session.execute(text(f"SELECT * FROM {TABLE}"))
                await session.execute(text("SELECT * FROM t WHERE a = :q"), {"q": q})


            def raw(cursor: object, user_id: str) -> None:
                cursor.execute("DELETE FROM users WHERE id = %s" % user_id)
                cursor.execute("DELETE FROM users WHERE id = %s", (user_id,))
                cursor.execute(f"{user_id}")
        """
    }
    found = hits(SqlBuiltFromInput, files)
    assert where(found) == [("app/crud.py", n) for n in (8, 9, 10, 16)]
    assert all(f.category == "security.injection" for f in found)
    assert all(f.severity is Severity.CRITICAL for f in found)


def test_attribute_chains_and_iterated_scalars() -> None:
    # `self.repo.session.commit()` is a session commit; `scalars()` iterated is every row
    files = {
        "app/models.py": """
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

            class Base(DeclarativeBase):
                pass

            class Parcel(Base):
                __tablename__ = "parcels"
                id: Mapped[int] = mapped_column(primary_key=True)
                status: Mapped[str]
        """,
        "app/service.py": """
            from aiokafka import AIOKafkaProducer
            from fastapi import APIRouter
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.models import Parcel

            router = APIRouter()

            class Repo:
                def __init__(self, session: AsyncSession) -> None:
                    self.session = session

                async def all(self) -> list[Parcel]:
                    result = await self.session.scalars(select(Parcel))
                    return list(result)

            class Service:
                def __init__(self, repo: Repo, producer: AIOKafkaProducer) -> None:
                    self.repo = repo
                    self.producer = producer

                async def deliver(self, parcel: Parcel) -> None:
                    parcel.status = "delivered"
                    await self.repo.session.commit()
                    await self.producer.send_and_wait("parcels", b"{}")

            @router.get("/parcels")
            async def parcels(session: AsyncSession) -> list[int]:
                return [p.id for p in await Repo(session).all()]
        """,
    }
    assert where(hits(CommitThenPublish, files)) == [("app/service.py", 25)]
    assert where(hits(UnboundedListQuery, files)) == [("app/service.py", 15)]


def test_response_schema_reading_an_unloaded_relationship() -> None:
    models = """
        from sqlalchemy import ForeignKey
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

        class Base(DeclarativeBase):
            pass

        class Member(Base):
            __tablename__ = "members"
            id: Mapped[int] = mapped_column(primary_key=True)
            loans: Mapped[list["Loan"]] = relationship(back_populates="member")

        class Loan(Base):
            __tablename__ = "loans"
            id: Mapped[int] = mapped_column(primary_key=True)
            member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
            member: Mapped[Member] = relationship(back_populates="loans")
    """
    schemas = """
        from pydantic import BaseModel, ConfigDict

        class MemberBrief(BaseModel):
            model_config = ConfigDict(from_attributes=True)
            id: int

        class MemberOut(MemberBrief):
            loans: list[int]
    """
    routes = """
        from fastapi import APIRouter
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from sqlalchemy.orm import selectinload

        from app.models import Member
        from app.schemas import MemberBrief, MemberOut

        router = APIRouter()

        @router.get("/members/{member_id}", response_model=MemberOut)
        async def member(member_id: int, session: AsyncSession) -> Member | None:
            found = await session.get(Member, member_id)
            return found

        @router.get("/members/{member_id}/full")
        async def member_full(member_id: int, session: AsyncSession) -> MemberOut:
            found = await session.get(Member, member_id)
            return MemberOut.model_validate(found)

        @router.get("/members/{member_id}/brief", response_model=MemberBrief)
        async def brief(member_id: int, session: AsyncSession) -> Member | None:
            found = await session.get(Member, member_id)
            return found

        @router.get("/members/{member_id}/eager", response_model=MemberOut)
        async def eager(member_id: int, session: AsyncSession) -> Member | None:
            stmt = select(Member).options(selectinload(Member.loans))
            found = await session.get(Member, member_id, options=[selectinload(Member.loans)])
            return found
    """
    found = hits(
        LazyLoadOnAsyncResult,
        {"app/models.py": models, "app/schemas.py": schemas, "app/routes.py": routes},
    )
    # inherited fields count; a schema without the relationship and eager loads are quiet
    assert where(found) == [("app/routes.py", 14), ("app/routes.py", 19)]
    assert "serialised by MemberOut" in found[0].message


def test_commit_inside_a_helper_before_the_publish() -> None:
    files = {
        "app/store.py": """
            from sqlalchemy.ext.asyncio import AsyncSession


            async def insert(session: AsyncSession, row: object) -> object:
                session.add(row)
                await session.commit()
                return row


            async def touch(session: AsyncSession, row: object) -> None:
                session.add(row)
                await session.flush()
        """,
        "app/logic.py": """
            from aiokafka import AIOKafkaProducer
            from sqlalchemy.ext.asyncio import AsyncSession

            from app import store


            async def create(session: AsyncSession, producer: AIOKafkaProducer) -> None:
                await store.insert(session, object())
                await producer.send_and_wait("rows.created", b"{}")


            async def update(session: AsyncSession, producer: AIOKafkaProducer) -> None:
                await store.touch(session, object())
                await producer.send_and_wait("rows.updated", b"{}")


            async def retry(session: AsyncSession, producer: AIOKafkaProducer) -> None:
                try:
                    await store.insert(session, object())
                except Exception:
                    await producer.send_and_wait("rows.dlq", b"{}")
        """,
    }
    found = hits(CommitThenPublish, files)
    # reported once, at the commit inside the helper; the flush-only helper and the dead
    # letter sent only when the helper failed are quiet
    assert where(found) == [("app/store.py", 6)]
    assert "create()" in found[0].message


def test_unbounded_query_reached_through_an_attribute_of_a_typed_local() -> None:
    # the route calls `service.repo.list_all()`: `service` is typed by its annotation,
    # `repo` by the service's constructor
    files = {
        "app/models.py": """
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class Order(Base):
                __tablename__ = "orders"
                id: Mapped[int] = mapped_column(primary_key=True)
        """,
        "app/repo.py": """
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.models import Order


            class OrderRepository:
                def __init__(self, session: AsyncSession) -> None:
                    self.session = session

                async def list_all(self) -> list[Order]:
                    result = await self.session.execute(select(Order))
                    return list(result.scalars().all())
        """,
        "app/api.py": """
            from fastapi import APIRouter, Depends

            from app.repo import OrderRepository

            router = APIRouter()


            class OrderService:
                def __init__(self, repo: OrderRepository) -> None:
                    self.repo = repo


            def get_service() -> OrderService: ...


            @router.get("/orders")
            async def list_orders(service: OrderService = Depends(get_service)) -> list[int]:
                return [o.id for o in await service.repo.list_all()]
        """,
    }
    assert where(hits(UnboundedListQuery, files)) == [("app/repo.py", 12)]


def test_engine_and_text_made_under_an_import_alias() -> None:
    """`create_async_engine` and `text` imported under other names are still the engine
    factory (no pool settings: DB006) and the SQL text builder (an f-string: DB008)."""
    files = {
        "app/db.py": (
            "from sqlalchemy import text as sql\n"
            "from sqlalchemy.ext.asyncio import AsyncSession\n"
            "from sqlalchemy.ext.asyncio import create_async_engine as make_engine\n"
            "\n"
            'engine = make_engine("postgresql+asyncpg://db/app")\n'
            "\n"
            "\n"
            "async def find(session: AsyncSession, name: str) -> object:\n"
            "    return await session.execute(sql(f\"SELECT * FROM t WHERE n = '{name}'\"))\n"
        )
    }
    assert where(hits(EngineWithoutPoolSettings, files)) == [("app/db.py", 5)]
    assert where(hits(SqlBuiltFromInput, files)) == [("app/db.py", 9)]
