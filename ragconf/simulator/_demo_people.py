"""Demo corpus, HR space (people, policies, hiring) and the private LEAD space."""

from __future__ import annotations

from ragconf.simulator._demo_common import Doc, aid
from ragconf.simulator._storage import (
    attachment_link,
    children,
    emoticon,
    expand,
    h,
    include,
    layout,
    mention,
    ol,
    p,
    page_link,
    panel,
    status,
    table,
    task_list,
    time,
    ul,
)

__all__ = ["HR_DOCS", "LEAD_DOCS"]

_HR_HOME = layout(
    ("two_equal", [
        h(2, "People at Larkspur") + p(
            "Policies, benefits, onboarding and hiring. The full ",
            attachment_link("employee-handbook.pdf", "employee handbook (PDF)"),
            " covers everything in one document. ", emoticon("heart")),
        h(2, "Ask People Ops") + p("Write to people@larkspur.io or ping ",
                                   mention(aid("hana")), " in #ask-people."),
    ]),
    ("single", [children()]),
)

_FIRST_WEEK = (
    p("Your buddy and your manager will go through this list with you. Tick items as you "
      "go; your manager sees the progress.")
    + h(2, "Day 1")
    + task_list([
        (1, True, mention(aid("hana")) + " Send the welcome e-mail with the laptop tracking "
         "number " + time("2026-04-27")),
        (2, False, mention(aid("dev")) + " Create GitHub, AWS SSO and PagerDuty accounts "
         "for the new engineer " + time("2026-05-04")),
        (3, False, "Enrol your YubiKey at id.larkspur.io " + time("2026-05-04")),
    ])
    + h(2, "Days 2 to 5")
    + task_list([
        (4, False, "Complete the security awareness training " + time("2026-05-08")),
        (5, False, mention(aid("priya")) + " Pair on a first pull request with the new "
         "engineer " + time("2026-05-08")),
        (6, False, "Read the " + page_link("System overview", space_key="ENG")
         + " and write down three questions " + time("2026-05-07")),
        (7, False, ""),
    ])
    + panel("tip", p("Nobody expects you to ship in week one. Ask questions in "
                     "#new-joiners: there are no silly questions."))
)

_ACCESS = (
    p("Access is granted through groups in Okta, never to individuals directly.")
    + table(["System", "How to request", "Approver"], [
        ["GitHub", "Automatic with the engineering group", "-"],
        ["AWS production (read)", "Okta request 'aws-prod-readonly'", "Team lead"],
        ["AWS production (write)", "Break-glass request in #platform", "SRE lead"],
        ["Adyen customer area", "Okta request 'adyen-ca'", mention(aid("aiko"))],
        ["Confluence LEAD space", "Not requestable", "CEO"],
    ])
    + p("Access is reviewed every quarter; unused access is removed after 60 days.")
)

_ENG_ONBOARDING = (
    p("Engineering-specific onboarding, on top of the ", page_link("First week checklist"),
      ". The local setup guide from the Engineering space is included below.")
    + include("Local development setup", space_key="ENG")
    + h(2, "Your first month")
    + ol(["Week 1: ship a small fix with your buddy.",
          "Week 2: shadow the on-call for two days.",
          "Week 3: read the ADRs and discuss one with the author.",
          "Week 4: present what surprised you at the engineering all-hands."])
)

_REMOTE = (
    p("Larkspur is remote-first: you can work from any country where we have an employer "
      "of record (Portugal, Spain, Germany, the Netherlands, Poland and the UK).")
    + ul(["Core collaboration hours are 10:00 to 15:00 Lisbon time.",
          "Working from another country for up to 60 days a year is fine; tell People Ops "
          "ten days ahead.",
          "The company pays for a coworking desk up to EUR 200 per month."])
    + p("Details are in the ", attachment_link("employee-handbook.pdf", "employee handbook"),
        ".")
)

_TRAVEL = (
    table(["Item", "Policy"], [
        ["Flights", "Economy; premium economy above 6 hours"],
        ["Hotels", "Up to EUR 180 per night (EUR 250 in London and Zurich)"],
        ["Meals", "Up to EUR 60 per day while travelling"],
        ["Pre-approval", "Needed for anything above EUR 500"],
    ])
    + p("Submit expenses in Navan within 30 days with a receipt.")
    + panel("note", p("Team offsites have their own budget; ask your manager."))
)

_PARENTAL = (
    p("All parents get 20 weeks of fully paid parental leave, to be taken within 18 months "
      "of the birth or adoption, in up to three blocks. Statutory leave counts towards the "
      "20 weeks, never on top.")
    + p("During the first four weeks back you may work 80% of your hours at full pay.")
)

_CONDUCT = (
    p("We want Larkspur to be a place where everyone can do their best work. Be kind, "
      "assume good intent, and disagree about ideas, not people.")
    + ul(["Harassment, discrimination and bullying are never tolerated.",
          "Report concerns to People Ops, your manager, or anonymously through the Speak Up "
          "form.", "Retaliation against anyone who reports in good faith is a dismissal "
          "offence."])
)

_SEC_TRAINING = (
    p("Everyone completes the security awareness course in the first week and then every "
      "year in March. It takes about 45 minutes.")
    + ul(["Phishing: report suspicious e-mails with the 'Report phish' button.",
          "Hardware keys: never share or leave your YubiKey in the laptop.",
          "Customer data: never paste it into chat tools or AI assistants."])
    + p("Completion status: ", status("94% DONE", "Green"), " (March 2026 cycle).")
)

_HEALTH = (
    p("Private health insurance is provided by local partners, covering you and your "
      "family: Médis in Portugal, Sanitas in Spain, TK with a supplementary plan in Germany.")
    + expand("Dental and vision", p("Dental is covered up to EUR 800 a year; glasses or "
                                    "contact lenses up to EUR 250 every two years."))
)

_LEARNING = (
    p("Everyone has a learning budget of EUR 1,500 per year and five working days for "
      "books, courses and conferences. Unused budget does not carry over.")
    + p("Conference talks: if you speak at a conference, Larkspur pays travel and "
        "accommodation outside the budget.")
)

_INTERVIEW = (
    ol(["Recruiter call (30 minutes)", "Hiring manager interview (45 minutes)",
        "Technical interview: pairing on a realistic problem (90 minutes)",
        "System design interview for senior roles (60 minutes)",
        "Values interview with someone outside the team (45 minutes)"])
    + p("We aim to make a decision within five working days of the last interview.")
)

_RUBRIC = (
    p("Interviewers fill in the ", attachment_link("interview-scorecard.docx", "scorecard"),
      " within 24 hours and before reading other feedback.")
    + table(["Level", "Problem solving", "System design"], [
        ["Engineer II", "Solves the core problem with hints", "Not assessed"],
        ["Senior", "Independently, tests edge cases", "Designs idempotent payment flows"],
        ["Staff", "Finds the simpler problem behind it", "Plans migrations and failure modes"],
    ])
)

HR_DOCS: list[Doc] = [
    Doc("hr-home", "People Home", _HR_HOME, 0, "hana", labels=("home",)),
    Doc("onboarding", "Onboarding", p("Everything for your first weeks.") + children(), 2,
        "hana", "hr-home", ("onboarding",)),
    Doc("first-week", "First week checklist", _FIRST_WEEK, 3, "hana", "onboarding",
        ("onboarding", "checklist"),
        edits=((200, _FIRST_WEEK.replace("<ac:task-status>incomplete</ac:task-status>"
                                         "<ac:task-body>Enrol", "<ac:task-status>complete"
                                         "</ac:task-status><ac:task-body>Enrol", 1),
                "YubiKey enrolled"),)),
    Doc("access", "Accounts and access requests", _ACCESS, 4, "jonas", "onboarding",
        ("onboarding", "access")),
    Doc("eng-onboarding", "Engineering onboarding", _ENG_ONBOARDING, 38, "tom", "onboarding",
        ("onboarding", "engineering")),
    Doc("policies", "Policies", p("Company policies.") + children(), 1, "hana", "hr-home",
        ("policy",)),
    Doc("remote", "Remote work policy", _REMOTE, 5, "hana", "policies", ("policy", "remote")),
    Doc("travel", "Travel and expenses policy", _TRAVEL, 8, "hana", "policies",
        ("policy", "expenses")),
    Doc("parental", "Parental leave", _PARENTAL, 16, "hana", "policies", ("policy", "leave")),
    Doc("conduct", "Code of conduct", _CONDUCT, 2, "sara", "policies", ("policy",)),
    Doc("sec-training", "Security awareness training", _SEC_TRAINING, 90, "jonas",
        "policies", ("policy", "security")),
    Doc("benefits", "Benefits", p("What Larkspur offers beyond salary.") + children(), 6,
        "hana", "hr-home", ("benefits",)),
    Doc("health", "Health insurance", _HEALTH, 7, "hana", "benefits", ("benefits",)),
    Doc("learning", "Learning budget", _LEARNING, 9, "hana", "benefits",
        ("benefits", "learning")),
    Doc("hiring", "Hiring", p("How we hire.") + children(), 10, "hana", "hr-home",
        ("hiring",)),
    Doc("interview", "Interview process", _INTERVIEW, 11, "hana", "hiring", ("hiring",)),
    Doc("rubric", "Engineering interview rubric", _RUBRIC, 12, "tom", "hiring",
        ("hiring", "engineering")),
]

_OKRS = table(["Objective", "Key result", "Owner", "Status"], [
    ["Grow revenue", "ARR from EUR 18M to EUR 27M", mention(aid("sara")),
     status("ON TRACK", "Green")],
    ["Grow revenue", "Launch SEPA Instant for 300 merchants", mention(aid("aiko")),
     status("AT RISK", "Yellow")],
    ["Be boringly reliable", "99.99% Payments API availability every quarter",
     mention(aid("marco")), status("ON TRACK", "Green")],
    ["Be boringly reliable", "Zero SEV1 incidents caused by expired certificates",
     mention(aid("marco")), status("DONE", "Green")],
    ["Great place to work", "eNPS above 40 in the autumn survey", mention(aid("hana")),
     status("ON TRACK", "Green")],
])

_BOARD = (
    p("Board meeting, 2026-03-12, Lisbon. Present: ", mention(aid("sara")), ", ",
      mention(aid("tom")), " and three board members.")
    + h(2, "Decisions")
    + ul(["Approved the FY26 budget with 22 new hires, 14 of them in engineering.",
          "Approved opening an entity in Poland (Kraków office) in Q3.",
          "Series B preparation starts in September; target close in Q1 2027."])
    + h(2, "Risks discussed")
    + ul(["Adyen concentration: evaluate a second acquirer (Checkout.com) by June.",
          "PCI DSS 4.0 deadline: the QSA assessment is booked for September."])
)

_COMP = (
    panel("warning", p("Confidential. Do not share outside the leadership team.")),
    p("Salary bands for 2026 are in ", attachment_link("compensation-bands-2026.csv",
                                                        "the bands spreadsheet"),
      ". Bands are reviewed every April using Ravio benchmark data at the 65th percentile."),
)

_REORG = (
    p("Proposal: merge the Platform and SRE teams into one Infrastructure group led by ",
      mention(aid("marco")), ", effective 1 July 2026.")
    + task_list([
        (1, True, mention(aid("tom")) + " Share the proposal with team leads "
         + time("2026-04-10")),
        (2, False, mention(aid("hana")) + " Prepare role descriptions and levels "
         + time("2026-05-15")),
        (3, False, mention(aid("marco")) + " Plan the merged on-call rotation "
         + time("2026-06-12")),
    ])
    + panel("note", p("Draft: not yet communicated to the teams."))
)

LEAD_DOCS: list[Doc] = [
    Doc("lead-home", "Leadership Home", p("Private space of the leadership team.")
        + children(), 0, "sara", labels=("home",)),
    Doc("okrs", "2026 company OKRs", _OKRS, 95, "sara", "lead-home", ("okr", "strategy")),
    Doc("board", "Board meeting notes 2026-Q1", _BOARD, 163, "sara", "lead-home",
        ("board",)),
    Doc("comp", "Compensation bands 2026", "".join(_COMP), 190, "hana", "lead-home",
        ("compensation", "confidential")),
    Doc("reorg", "Reorg plan: Platform and SRE merge", _REORG, 185, "tom", "lead-home",
        ("reorg", "confidential")),
]
