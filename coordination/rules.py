"""The rules of coordination of help as pure functions (Spoorboekje §10.2-10.3, Bijlage VI; art. 6.1).

No I/O and no clock: time is a parameter. Each function names the paragraph or article it applies
and returns every violation at once, like `consent/rules/`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from coordination.models import CoordinationForm
from gateway.problems import RuleViolation

FORMS = (CoordinationForm.PARTNER, CoordinationForm.FAMILY, CoordinationForm.PROCESS_COORDINATOR)

#: §10.3: "Streven is om voor de duur van maximaal een half jaar procescoördinatie in te zetten".
PROCESS_COORDINATION_MONTHS = 6

#: §10.2 "Elkaar informeren": the closed set of notices an involved partner owes the coordinator,
#: with the field each one must carry.
NOTICE_TYPES: Mapping[str, str | None] = {
    "help_started": None,  # de start … van de geboden hulp
    "help_ended": "effects",  # de afsluiting en de effecten van de geboden hulp
    "help_broken_off": "cause",  # het tussentijds afbreken … en de oorzaak daarvan
    "repeated_no_show": "likely_causes",  # het stelselmatig niet verschijnen … en de mogelijke oorzaken
    "referred": "referred_to",  # het toeleiden … naar een andere partij of organisatie
}

#: The categories a notice discloses (SPEC §4): progress of help, and a referral.
NOTICE_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "help_started": ("care_progress",),
    "help_ended": ("care_progress",),
    "help_broken_off": ("care_progress",),
    "repeated_no_show": ("care_progress",),
    "referred": ("care_progress", "referral"),
}

END_TYPES = frozenset({"help_ended", "help_broken_off"})

ARTICLE_DESIGNATE = "Spoorboekje 10.2"
ARTICLE_FORMS = "Spoorboekje 10.3"
ARTICLE_NOTICE = "Spoorboekje 10.2"


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` plus whole calendar months, clamped to the month's last day (31 Aug + 6 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


@dataclass(frozen=True)
class CoordinatorChoice:
    form: str
    partner: str | None
    until: dt.datetime | None


def check_coordinator(
    choice: CoordinatorChoice, known_partners: Collection[str], *, at: dt.datetime
) -> list[RuleViolation]:
    """Vormen van coördinatie van hulp (§10.3): who may coordinate, and for how long.

    The family itself (*eigen regie*) names no partner; a partner (*regie bij een hulpaanbieder*,
    casusregie, gedwongen regie) and a process coordinator must be a registered Meerpunt partner.
    Process coordination is temporary: it ends at most six months after it starts.
    """
    if choice.form not in FORMS:
        return [
            RuleViolation(
                "coordination_form_unknown", ARTICLE_FORMS, f"form must be one of {', '.join(FORMS)}."
            )
        ]
    violations: list[RuleViolation] = []
    if choice.form == CoordinationForm.FAMILY:
        if choice.partner is not None:
            violations.append(
                RuleViolation(
                    "family_names_no_partner",
                    ARTICLE_FORMS,
                    "Eigen regie: the family coordinates, name no partner.",
                )
            )
    elif choice.partner is None:
        violations.append(
            RuleViolation("coordinator_missing", ARTICLE_DESIGNATE, "Name the partner that coordinates.")
        )
    elif choice.partner not in known_partners:
        violations.append(
            RuleViolation(
                "unknown_coordinator",
                ARTICLE_DESIGNATE,
                f"{choice.partner!r} is not a registered Meerpunt partner.",
            )
        )
    if choice.until is not None and choice.until <= at:
        violations.append(RuleViolation("until_in_past", ARTICLE_FORMS, "until must lie in the future."))
    if (
        choice.form == CoordinationForm.PROCESS_COORDINATOR
        and choice.until is not None
        and choice.until > add_months(at, PROCESS_COORDINATION_MONTHS)
    ):
        violations.append(
            RuleViolation(
                "process_coordination_too_long",
                ARTICLE_FORMS,
                "Procescoördinatie is temporary: at most six months (half a year) from its start.",
            )
        )
    return violations


def coordination_until(choice: CoordinatorChoice, at: dt.datetime) -> dt.datetime | None:
    """When the coordination ends by itself: process coordination after six months at most (§10.3)."""
    if choice.form == CoordinationForm.PROCESS_COORDINATOR:
        return choice.until or add_months(at, PROCESS_COORDINATION_MONTHS)
    return choice.until


def check_household(
    child_count: int, distinct_children: int, involved: Collection[str], known_partners: Collection[str]
) -> list[RuleViolation]:
    """One household, one plan (§10.2): at least one child, each once; involved partners registered."""
    violations: list[RuleViolation] = []
    if child_count == 0:
        violations.append(
            RuleViolation("children_missing", ARTICLE_DESIGNATE, "Name at least one child of the household.")
        )
    if distinct_children != child_count:
        violations.append(RuleViolation("duplicate_child", ARTICLE_DESIGNATE, "A child is listed twice."))
    unknown = sorted(set(involved) - set(known_partners))
    if unknown:
        violations.append(
            RuleViolation(
                "unknown_partner",
                ARTICLE_DESIGNATE,
                "Not registered Meerpunt partners: " + ", ".join(unknown) + ".",
            )
        )
    return violations


def current_coordinator(
    form: str | None, coordinator: str | None, until: dt.datetime | None, at: dt.datetime
) -> str | None:
    """The partner that coordinates at `at`, or None: ended, eigen regie, or process coordination past
    its end (§10.3: it hands back to the family or an involved professional)."""
    if form is None or form == CoordinationForm.FAMILY or coordinator is None:
        return None
    if until is not None and at >= until:
        return None
    return coordinator


def may_change_coordinator(caller: str, coordinator_now: str | None, involved: Collection[str]) -> bool:
    """Who hands over or ends coordination (§10.2: "vast te stellen wie de coördinatie op zich neemt").

    The coordinating partner itself; when no partner coordinates (eigen regie, ended, expired
    process coordination), any involved partner, acting with the family.
    """
    if coordinator_now is not None:
        return caller == coordinator_now
    return caller in involved


def check_notice(notice_type: str, fields: Mapping[str, str | None]) -> list[RuleViolation]:
    """Elkaar informeren (§10.2): a closed set of notice types, each with what it must say."""
    if notice_type not in NOTICE_TYPES:
        return [
            RuleViolation(
                "notice_type_unknown", ARTICLE_NOTICE, "type must be one of " + ", ".join(NOTICE_TYPES) + "."
            )
        ]
    required = NOTICE_TYPES[notice_type]
    if required is not None and not (fields.get(required) or "").strip():
        what = {
            "effects": "the effects of the help",
            "cause": "why the help was broken off",
            "likely_causes": "the likely causes of the no-shows",
            "referred_to": "to which party or organisation the family was referred",
        }[required]
        return [
            RuleViolation(
                f"{required}_missing", ARTICLE_NOTICE, f"A {notice_type} notice states {what} ({required})."
            )
        ]
    return []


def notice_recipient(coordinator_now: str | None, sender: str) -> list[RuleViolation]:
    """A notice goes to the household's coordinating partner (§10.2); without one it cannot go anywhere."""
    if coordinator_now is None:
        return [
            RuleViolation(
                "no_coordinator",
                ARTICLE_NOTICE,
                "This household has no coordinating partner (none designated, eigen regie, ended or "
                "process coordination expired): a notice to the coordinator cannot be delivered.",
            )
        ]
    if coordinator_now == sender:
        return [
            RuleViolation("sender_is_coordinator", ARTICLE_NOTICE, "You coordinate this household yourself.")
        ]
    return []


@dataclass(frozen=True)
class ReportStatus:
    partner: str
    started: bool
    ended: bool


def outstanding_reports(
    involved: Sequence[str], coordinator: str | None, notices: Sequence[tuple[str, str]]
) -> list[ReportStatus]:
    """The follow-up the coordinator owes (§10.2): per involved partner, whether it reported the start
    and the end (help_ended or help_broken_off) of its help. `notices` are (sender, type) pairs."""
    sent: dict[str, set[str]] = {}
    for sender, notice_type in notices:
        sent.setdefault(sender, set()).add(notice_type)
    return [
        ReportStatus(
            partner=partner,
            started="help_started" in sent.get(partner, set()),
            ended=bool(sent.get(partner, set()) & END_TYPES),
        )
        for partner in involved
        if partner != coordinator
    ]


@dataclass(frozen=True)
class ChecklistFacts:
    """What the events say about a household (all counts and flags)."""

    coordinator_designated: bool
    involved_partners: int
    plan_versions: int
    started: int
    effects_reported: int
    ended_or_broken_off: int
    help_active: int
    coordination_ended: bool


#: Bijlage VI (Checklist 1H1P1R), in its order; None: only people can tell (not derivable).
CHECKLIST: tuple[tuple[str, str], ...] = (
    (
        "question_formulated",
        "De problematiek en ondersteuningsvraag is in dialoog met het gezin geformuleerd.",
    ),
    (
        "characteristics_known",
        (
            "Inzicht is gegeven in de kindkenmerken, ouderkenmerken en omgevingskenmerken die van "
            "invloed zijn op de situatie (positief en negatief)."
        ),
    ),
    (
        "safety_assessed",
        "Veiligheidsrisico's en ontwikkelingsbedreigingen voor jeugdigen zijn tijdig ingeschat.",
    ),
    (
        "self_reliance_assessed",
        "Er is een inschatting gemaakt van de zelfredzaamheid, zodat de ondersteuning hierop aansluit.",
    ),
    (
        "family_plan_made",
        (
            "Er is samen met het gezin een integraal gezinsplan opgesteld. Als dit niet het geval "
            "is, moet duidelijk zijn dat het gezin hiervan heeft afgezien."
        ),
    ),
    (
        "right_parties_involved",
        (
            "Er is vastgesteld dat de juiste partijen betrokken zijn (zowel basisvoorzieningen, "
            "preventieve partners als jeugdhulpaanbieders)."
        ),
    ),
    ("coordinator_designated", "Er is vastgesteld wie er regie voert en wat dat inhoudt."),
    (
        "goals_prioritised",
        "De doelen van de zorg en ondersteuning zijn geprioriteerd, concreet en gericht op effecten.",
    ),
    ("goals_evaluated", "Er is systematisch geëvalueerd of de gestelde doelen zijn behaald."),
    (
        "measures_taken",
        (
            "Passende maatregelen zijn ingezet wanneer de inzet van vrijwillige hulp niet tot stand "
            "komt of onvoldoende toereikend of effectief blijkt."
        ),
    ),
    (
        "goals_adjusted",
        (
            "Doelen zijn bijgesteld als de ondersteuningsbehoefte van het gezin is veranderd "
            "(opschalen en afschalen)."
        ),
    ),
    (
        "help_closed",
        (
            "De hulp en ondersteuning is afgesloten als het gezin zelfstandig verder kan. Hiervoor "
            "is een adequate inschatting gemaakt."
        ),
    ),
)


def checklist(facts: ChecklistFacts) -> list[tuple[str, str, bool | None, str]]:
    """Bijlage VI as data: (step, Dutch text, done or None when not derivable, evidence).

    Read-only and derived from the household's events only: designation, involved partners, plan
    versions and notices. Steps about the conversation with the family are for people to judge.
    """
    derived: dict[str, tuple[bool, str]] = {
        "coordinator_designated": (facts.coordinator_designated, "designation event"),
        "right_parties_involved": (
            facts.involved_partners >= 2,
            f"{facts.involved_partners} involved partners",
        ),
        "family_plan_made": (facts.plan_versions > 0, f"{facts.plan_versions} family plan versions"),
        "goals_adjusted": (facts.plan_versions > 1, "a later family plan version"),
        "goals_evaluated": (
            facts.effects_reported > 0,
            f"{facts.effects_reported} help_ended notices with effects",
        ),
        "help_closed": (
            facts.coordination_ended or (facts.started > 0 and facts.help_active == 0),
            "coordination ended, or every started help ended",
        ),
    }
    steps: list[tuple[str, str, bool | None, str]] = []
    for step, text in CHECKLIST:
        if step in derived:
            done, evidence = derived[step]
            steps.append((step, text, done, evidence))
        else:
            steps.append((step, text, None, "not derivable from the exchange: recorded by people"))
    return steps
