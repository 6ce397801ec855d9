"""Regions, departments, officials, enterprises and their contacts."""

from __future__ import annotations

import re

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

from models.codes import RegionKind, Role
from models.tables.types import code_enum


class Region(SQLModel, table=True):
    """A county, district or park (县区/园区), or the city itself."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name_zh: str = Field(max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    kind: RegionKind = Field(sa_type=code_enum(RegionKind))


class Department(SQLModel, table=True):
    """A city department and the issue categories it co-handles."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name_zh: str = Field(max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Official(SQLModel, table=True):
    """A person on the city's side: service agent, head, leader or admin."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=100)
    title: str | None = Field(default=None, max_length=200)
    role: Role = Field(sa_type=code_enum(Role), index=True)
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    # 分管领域: industries and/or category codes, ";"-separated (routing by portfolio).
    portfolio: str | None = Field(default=None, max_length=500)
    telegram_user_id: int | None = Field(default=None, unique=True, sa_type=BigInteger)
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    locale: str | None = Field(default=None, max_length=16)
    unreachable: bool = Field(default=False)

    def covers(self, *topics: str | None) -> bool:
        """Whether the official's portfolio names any of `topics` (an industry, a category)."""
        held = {t.strip() for t in re.split(r"[;；、,，]", self.portfolio or "") if t.strip()}
        return any(topic in held for topic in topics if topic)


class Enterprise(SQLModel, table=True):
    """A company building a project; its 统一社会信用代码 is checked on the way in."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    credit_code: str = Field(max_length=18, unique=True)


class Contact(SQLModel, table=True):
    """A person who speaks for an enterprise (企业联系人)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    name: str = Field(max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    telegram_user_id: int | None = Field(default=None, unique=True, sa_type=BigInteger)
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    locale: str | None = Field(default=None, max_length=16)
    unreachable: bool = Field(default=False)
