"""The domain: SQLModel tables and the rules over them. Never imports `telegram`."""

from models.tables.api import ApiKey
from models.tables.calendar import HolidayDay
from models.tables.incident import Incident
from models.tables.infra import Invite, Outbox, Report, ScheduleRun, SeenUpdate
from models.tables.issue import Attachment, AuditLink, Issue, IssueCoHandler, IssueEvent
from models.tables.org import Contact, Department, Enterprise, Official, Region
from models.tables.project import ProgressReport, Project

__all__ = [
    "ApiKey",
    "Attachment",
    "AuditLink",
    "Contact",
    "Department",
    "Enterprise",
    "HolidayDay",
    "Incident",
    "Invite",
    "Issue",
    "IssueCoHandler",
    "IssueEvent",
    "Official",
    "Outbox",
    "ProgressReport",
    "Project",
    "Region",
    "Report",
    "ScheduleRun",
    "SeenUpdate",
]
