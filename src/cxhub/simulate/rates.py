"""Rates the simulator chooses (as opposed to the measured ones in `calibration.py`).

Each is a plain constant so tests and `docs/simulator.md` can quote it; the tests check that the
files reproduce the identity-variation rates within a tolerance.
"""

from __future__ import annotations

# --- the company ---------------------------------------------------------------------------
CUSTOMERS_ON_DAY_ONE = 0.85  # the rest join during the simulated period
GROWTH = 0.6  # joining rate at the end of the period relative to the start, minus one
ANNUAL_CHURN = 0.12
CURRENCY = "GBP"
CHUNK_CUSTOMERS = 20_000  # fixed, so the files do not depend on memory or machine
PROSPECT_RATE = 0.15  # marketing-only people (never customers), per customer

SEGMENTS = ("family", "young_professional", "student", "senior", "small_business", "value_seeker")
SEGMENT_SHARE = (0.30, 0.20, 0.10, 0.20, 0.10, 0.10)
# Contact propensity by segment (mean 1 over the base); seniors phone, students chat.
SEGMENT_CONTACT_FACTOR = (1.0, 0.8, 0.7, 1.4, 1.2, 0.9)

# --- identity variation across systems (the documented, tested rates) ----------------------
# A customer moves in with the customer before them at this rate, so about twice as many
# customers share an address with another customer.
HOUSEHOLD_SECOND_MEMBER_RATE = 0.10
SHARED_EMAIL_RATE = 0.5  # of those households, the share that use one email for both
MOVED_RATE = 0.08  # people who moved: older systems still hold the previous address
NICKNAME_RATE = 0.15  # outside the CRM, a first name with a nickname is written as it
TYPO_RATE = 0.03  # per name field outside the CRM (one letter dropped, doubled, swapped, wrong)
CRM_TYPO_RATE = 0.01
CRM_DUPLICATE_RATE = 0.03  # customers keyed twice into the CRM
SECOND_BILLING_ACCOUNT_RATE = 0.06  # mobile billed on an account of its own
MARKETING_COVERAGE = 0.75  # customers known to marketing automation
# Chance that a field is empty, per system.
MISSING = {
    "crm": {"email": 0.03, "phone": 0.05, "date_of_birth": 0.02},
    "billing": {"email": 0.10, "phone": 0.15, "date_of_birth": 0.40},
    "marketing": {"first_name": 0.05, "phone": 0.60, "date_of_birth": 0.85, "address": 0.50},
    "sales": {"email": 0.05, "phone": 0.08, "date_of_birth": 0.10},
}

# --- contacts ------------------------------------------------------------------------------
CONTACTS_PER_CUSTOMER_YEAR = 6.5
CONTACT_PROPENSITY_SHAPE = 0.8  # gamma shape: a minority of customers makes most contacts
YEARLY_AMPLITUDE = 0.12  # demand peaks in mid-January, lowest in mid-July
YEARLY_PEAK_DAY_OF_YEAR = 15
CHANNELS = ("phone", "email", "chat", "web", "social", "community", "letter")
CHANNEL_MIX = {  # per segment, in CHANNELS order
    "family": (0.45, 0.15, 0.18, 0.10, 0.05, 0.05, 0.02),
    "young_professional": (0.25, 0.15, 0.30, 0.12, 0.10, 0.08, 0.00),
    "student": (0.12, 0.10, 0.40, 0.13, 0.15, 0.10, 0.00),
    "senior": (0.70, 0.12, 0.05, 0.04, 0.01, 0.02, 0.06),
    "small_business": (0.50, 0.25, 0.12, 0.08, 0.02, 0.02, 0.01),
    "value_seeker": (0.40, 0.15, 0.20, 0.12, 0.06, 0.06, 0.01),
}
CATEGORIES = ("information", "transaction", "problem", "complaint", "idea", "compliment")
CAUSES = ("product", "delivery", "pricing", "billing", "service", "other")
CATEGORY_MIX = (0.28, 0.20, 0.28, 0.12, 0.04, 0.08)
CAUSE_MIX = {  # per category, in CAUSES order
    "information": (0.30, 0.10, 0.25, 0.20, 0.05, 0.10),
    "transaction": (0.35, 0.10, 0.15, 0.25, 0.05, 0.10),
    "problem": (0.45, 0.15, 0.02, 0.15, 0.15, 0.08),
    "complaint": (0.15, 0.07, 0.20, 0.25, 0.30, 0.03),
    "idea": (0.45, 0.10, 0.15, 0.05, 0.15, 0.10),
    "compliment": (0.20, 0.15, 0.05, 0.05, 0.50, 0.05),
}
ANONYMOUS_SHARE = {"social": 0.60, "community": 0.70, "default": 0.12}
BILLING_ID_SHARE = 0.12  # known contacts that give their billing account, not the CRM id

# Queues: waits grow with load (contacts over the staffing plan) to this power.
LOAD_ELASTICITY = 3.0
DAILY_STAFFING_NOISE = 0.12  # lognormal sigma of the day's staffing against plan
# The rota per half hour (roster.csv): a little noise, and a few half hours deliberately
# under- or over-staffed; waits follow the half hour's staffing.
SLOT_STAFFING_NOISE = 0.05
UNDER_STAFFED_SHARE, UNDER_STAFFED_FACTOR = 0.04, 0.75
OVER_STAFFED_SHARE, OVER_STAFFED_FACTOR = 0.04, 1.3
# Agents needed for a half hour's offered load A (arrivals x handling time / 1800 s): the
# square-root staffing rule A + beta * sqrt(A); a chat agent handles CHAT_CONCURRENCY chats.
STAFFING_BETA = 1.0
CHAT_CONCURRENCY = 2
CHAT_WAIT_MEAN_S, CHAT_PATIENCE_MEAN_S = 40.0, 200.0
CHAT_TALK_MEDIAN_S, CHAT_TALK_SIGMA = 420.0, 0.7
HOLD_SHARE, HOLD_MEAN_S = 0.25, 45.0
WRAP_MEDIAN_S, WRAP_SIGMA = 25.0, 0.6
# First response of written channels: lognormal median (hours) and sigma.
FIRST_RESPONSE_HOURS = {
    "email": (5.0, 1.0),
    "web": (8.0, 1.0),
    "letter": (72.0, 0.5),
    "social": (0.75, 1.0),
    "community": (4.0, 1.0),
}
WRITTEN_HANDLING_MEDIAN_S = 240.0
# Whether the customer's issue gets fixed: during the first answer, later, or never (by
# category). Every item still ends: a call or chat when it ends (a later fix is a follow-up,
# not an open call); a written item when it is fixed, else it is closed for no reply
# NO_REPLY_CLOSE_DAYS after the last reply, or merged into the customer's open item on the
# same cause written within MERGE_WINDOW_HOURS before it.
RESOLVED_AT_ONCE = {"problem": 0.55, "complaint": 0.25}
UNRESOLVED = {"problem": 0.10, "complaint": 0.20}
LATER_RESOLUTION_HOURS = (30.0, 1.0)  # lognormal median and sigma
NO_REPLY_CLOSE_DAYS = 7
MERGE_WINDOW_HOURS = 48

# --- surveys -------------------------------------------------------------------------------
CSAT_RESPONSE_RATE = 0.18
CES_WITH_CSAT = 0.5
NPS_SURVEY_RATE = 0.25  # relationship survey, per customer per year
COMMENT_RATE = 0.35

# --- planted events ------------------------------------------------------------------------
RELEASE_DAYS = 3
# The release goes out in a morning deploy at this hour (the timestamps' clock) of its day and
# is rolled back at the same hour RELEASE_DAYS days later: its extra demand runs for exactly
# RELEASE_DAYS x 24 hours, from a moment a detector can be timed against.
RELEASE_HOUR = 9
RELEASE_MULTIPLIER = 5.0  # product-cause contacts and mentions in the release window
BILLING_AFFECTED_SHARE = 0.08  # billing accounts double-charged while the problem lasts
BILLING_CONTACT_PROB = 0.7  # affected customers who get in touch about it
BILLING_FIX_AFTER_DAYS = 12
CAMPAIGN_DAYS = 21
CAMPAIGN_UPLIFT = 0.35  # extra information and transaction contacts while it runs
CAMPAIGN_ORDER_RATE = 0.06  # of customers who clicked the campaign email
# The permanent fix (engineer visits booked in one step): from FIX_AT of the period on, the
# contacts and posts of FIX_CAUSE drop by the fix effect (`--fix-effect`) and stay down.
FIX_AT = 0.70
FIX_CAUSE = "delivery"
FIX_EFFECT = 0.3

# --- offers (the planted truth: SPEED-BOOST-500 works for families, not for seniors) -------
OFFER_PRESENT_RATE = 0.30  # answered phone and chat contacts without an open complaint
OFFER_CONTROL_SHARE = 0.10
OFFERS = {
    # code: (product, monthly amount, acceptance by segment when presented, control uptake)
    "SPEED-BOOST-500": (
        "BB-FIBRE-500",
        10.0,
        {"family": 0.24, "senior": 0.04, "default": 0.10},
        0.04,
    ),
    "MOBILE-SIM-ADD": ("MOB-SIM-10GB", 10.0, {"default": 0.08}, 0.03),
    "TV-SPORT-TRIAL": ("TV-SPORT", 25.0, {"default": 0.06}, 0.02),
}
PLANTED_OFFER = "SPEED-BOOST-500"

# --- social listening ----------------------------------------------------------------------
MENTIONS_PER_CUSTOMER_YEAR = 0.3
MENTION_PRODUCT_SHARE = 0.30
BRAND_REPLY_RATE = 0.70
BRAND_REPLY_MEDIAN_MIN = 40.0
FOLLOW_UP_RATE = 0.15
PLATFORMS = ("twitter", "facebook", "instagram")
PLATFORM_SHARE = (0.55, 0.30, 0.15)
BRAND_HANDLE = "@NorthwindConnect"

# --- touchpoints ---------------------------------------------------------------------------
WEB_VISITS_PER_YEAR = 4.0
APP_USER_SHARE = 0.5
APP_LOGINS_PER_YEAR = 8.0
NEWSLETTERS_PER_YEAR = 12
EMAIL_OPEN_RATE, EMAIL_CLICK_RATE = 0.25, 0.04
CAMPAIGN_OPEN_RATE, CAMPAIGN_CLICK_RATE = 0.35, 0.10
HELP_VISIT_BEFORE_CONTACT = 0.30  # contacts preceded by a visit to a help page
DELIVERY_FAILURE_RATE = 0.08

# Agents' wrap-up codes: after a phone call or a chat an agent picks the contact's category and
# cause from a list for a share of the contacts they answer, and picks the wrong entry now and
# then. A company's first labelled data; classifiers learn from it and label the rest.
WRAP_UP_SHARE = 0.2
WRAP_UP_ERROR = 0.05
