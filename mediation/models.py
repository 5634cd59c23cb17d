"""Every feature's tables, imported in one place for Alembic and ``create_app``."""

from mediation.accounts.models import (  # noqa: F401
    Court,
    Institution,
    MediatorProfile,
    OneTimeCode,
    User,
    UserRole,
)
from mediation.agreements.models import (  # noqa: F401
    Agreement,
    AgreementComment,
    AgreementVersion,
    Signature,
)
from mediation.booking.models import (  # noqa: F401
    AvailabilityException,
    AvailabilityRule,
    BookingSettings,
    MediationSession,
    SessionParticipant,
)
from mediation.cases.models import (  # noqa: F401
    CalendarState,
    Case,
    CaseAssignment,
    CaseNumberCounter,
    CaseParty,
    Category,
    Claim,
    ConflictDisclosure,
    Evidence,
    ExtensionRequest,
    FailureRecord,
    Invitation,
)
from mediation.consultation.models import Attachment, ExpertProfile, Handover, Question  # noqa: F401
from mediation.court.models import (  # noqa: F401
    ApiToken,
    Application,
    ApplicationSignature,
    CourtCaseCounter,
    Material,
    SupplementRequest,
)
from mediation.evaluation.models import EvaluationCount  # noqa: F401
from mediation.followup.models import FollowUp, Obligation  # noqa: F401
from mediation.governance.models import EarlyWarning, WarningCase  # noqa: F401
from mediation.journal.models import JournalEntry, JournalHead, SealedContent  # noqa: F401
from mediation.minutes.models import Minutes, MinutesReview  # noqa: F401
from mediation.notify.models import OutboxMessage  # noqa: F401
from mediation.reception.models import ReceptionBooking  # noqa: F401
from mediation.recording.models import Composition, Recording, RecordingLease  # noqa: F401
from mediation.rooms.models import ChatMessage, Room, RoomMember  # noqa: F401
