"""What a contact is classified into: the categories (fixed) and the causes (the company's own).

Every label has a name and a description, plus a few things a customer might say (`examples`)
and words that point to it (`keywords`). Zero-shot classification reads nothing else, so the
descriptions are written to be told apart: what the customer wants (category) and what it is
about (cause). A company replaces the default causes with its own in a YAML file:

    causes:
      - name: network
        description: The mobile or broadband network itself: coverage, speed, outages.
        examples: ["No signal at home since Monday."]      # optional
        keywords: [signal, coverage, outage, 5g]          # optional

The file is `$CXHUB_HOME/taxonomy.yaml`, or the one given with `--taxonomy FILE`. Entries under
`categories:` may refine the description, examples or keywords of the six fixed categories.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from cxhub.domain.canonical import CATEGORIES, CAUSES
from cxhub.domain.errors import CxhubError

DIMENSIONS = ("category", "cause")
TAXONOMY_FILE = "taxonomy.yaml"


class TaxonomyError(CxhubError):
    """A taxonomy YAML file is invalid."""


@dataclass(frozen=True, slots=True)
class LabelSpec:
    name: str
    description: str
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def phrasings(self) -> list[str]:
        """The label's descriptive phrasings: its name with its description, then each example."""
        return [f"{self.name.replace('_', ' ')}: {self.description}", *self.examples]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    categories: tuple[LabelSpec, ...]
    causes: tuple[LabelSpec, ...]
    source: str = field(default="built-in", compare=False)

    def labels(self, dimension: str) -> tuple[LabelSpec, ...]:
        if dimension == "category":
            return self.categories
        if dimension == "cause":
            return self.causes
        raise TaxonomyError(f"unknown dimension {dimension!r}; use one of {', '.join(DIMENSIONS)}")

    def names(self, dimension: str) -> list[str]:
        return [label.name for label in self.labels(dimension)]

    def fingerprint(self, dimension: str) -> str:
        """A short hash of everything zero-shot reads for a dimension: a changed description is
        a changed model."""
        return specs_fingerprint(self.labels(dimension))


def specs_fingerprint(specs: Sequence[LabelSpec]) -> str:
    data = [[s.name, s.description, list(s.examples), list(s.keywords)] for s in specs]
    return hashlib.sha1(json.dumps(data).encode()).hexdigest()[:10]


_CATEGORIES = {
    "information": LabelSpec(
        "information",
        "The customer asks a question or wants to know something: how something works, what "
        "the options, prices or rules are, when something will happen, where to find details, "
        "the status of an order, a refund or a case. Nothing needs doing yet.",
        ("I have a question about this.", "Could you explain how this works?",
         "Can you tell me more about my options?", "Where can I find information about it?",
         "How long does it take, when will it arrive?", "What is the status of my request?",
         "What are your opening hours?", "How do I check the details?"),
        ("how", "what", "when", "where", "which", "why", "question", "information", "info",
         "explain", "tell me", "know", "details", "check", "status", "understand", "options",
         "is there", "can i", "do you", "query", "wondering", "clarify"),
    ),
    "transaction": LabelSpec(
        "transaction",
        "The customer wants something done: buy or order, sign up, cancel, change or update "
        "details, book an appointment, pay, ask for a refund or a document, reset a password, "
        "open, switch or close an account.",
        ("I want to place an order.", "Please cancel my order.",
         "I would like to change my details.", "Please update my address.",
         "I want to sign up and open an account.", "Can you book an appointment for me?",
         "I want to close my account.", "Please process my request."),
        ("i want to", "i would like", "i'd like", "please", "cancel", "change", "update",
         "order", "buy", "purchase", "book", "set up", "sign up", "register", "open",
         "close", "switch", "subscribe", "unsubscribe", "upgrade", "add", "remove", "process",
         "get", "need to", "reset", "transfer", "delete", "edit"),
    ),
    "problem": LabelSpec(
        "problem",
        "Something does not work or went wrong: a fault, an error, an outage, a broken, late or "
        "missing item, a failed payment, an issue the customer cannot solve alone.",
        ("It is not working.", "There is a fault with it.", "I'm having trouble, I get an error.",
         "Something went wrong with my payment.", "It stopped working, it is broken.",
         "I can't log in.", "My order has not arrived."),
        ("not working", "doesn't work", "does not work", "problem", "problems", "issue",
         "issues", "error", "fault", "faulty", "broken", "can't", "cannot", "unable", "failed",
         "fails", "wrong", "trouble", "stopped", "keeps", "drops", "outage", "down", "missing",
         "never arrived", "not arrived", "stuck", "crash", "help"),
    ),
    "complaint": LabelSpec(
        "complaint",
        "The customer is dissatisfied and complains about the company: poor service, unfair "
        "treatment, repeated failures; wants to make a formal complaint, escalate or claim "
        "compensation.",
        ("I want to make a formal complaint.", "I am very unhappy with your company.",
         "This is unacceptable.", "I am disappointed with the service I received.",
         "I want to file a claim against you.", "Terrible service, I'm fed up."),
        ("complaint", "complain", "unhappy", "unacceptable", "disappointed", "disappointing",
         "fed up", "terrible", "worst", "awful", "ridiculous", "disgrace", "claim",
         "escalate", "compensation", "not acceptable", "appalling", "useless", "rude", "poor",
         "bad", "waste"),
    ),
    "idea": LabelSpec(
        "idea",
        "A suggestion or feature request: how the company could improve a product, a service, "
        "the website, the app or a process.",
        ("I have a suggestion for you.", "It would be better if you added this feature.",
         "Here is an idea to improve your service.", "Have you thought about changing this?",
         "Please consider adding an option."),
        ("suggest", "suggestion", "idea", "would be great if", "would be nice", "could you add",
         "feature", "improve", "improvement", "consider", "why not", "how about", "wish",
         "it would help", "feature request", "better if", "could be better"),
    ),
    "compliment": LabelSpec(
        "compliment",
        "Praise or thanks: the customer is happy with a product, a person or the service.",
        ("Thank you, great service!", "I am very happy with the product.",
         "Excellent, well done.", "The advisor was very helpful.",
         "Really impressed, thanks a lot."),
        ("thank you", "thanks", "great", "excellent", "well done", "happy", "impressed",
         "love", "amazing", "brilliant", "helpful", "perfect", "spot on", "fantastic",
         "wonderful", "superb", "pleased", "good job", "great job", "best"),
    ),
}

_CAUSES = {
    "product": LabelSpec(
        "product",
        "The product or service itself: its quality, features, faults and performance; "
        "devices, connection, coverage; an item that is defective or not as described.",
        ("The device is faulty.", "The connection keeps dropping.",
         "The product quality is poor.", "The item does not work as described.",
         "The signal and the speed are bad."),
        ("product", "item", "device", "quality", "defective", "faulty", "internet", "signal",
         "speed", "connection", "coverage", "network", "phone", "feature", "works", "model"),
    ),
    "delivery": LabelSpec(
        "delivery",
        "Getting the product to the customer: shipping, delivery times, tracking, couriers, "
        "parcels, installation appointments and engineer visits, shipping addresses, returns.",
        ("Where is my parcel?", "The delivery is late.", "The courier did not come.",
         "The engineer appointment for the installation.", "Change my shipping address.",
         "Tracking my order shipment."),
        ("delivery", "deliver", "delivered", "shipping", "shipment", "ship", "courier",
         "parcel", "package", "tracking", "track", "arrive", "arrived", "dispatch", "engineer",
         "installation", "install", "appointment", "visit", "return", "post", "address"),
    ),
    "pricing": LabelSpec(
        "pricing",
        "What things cost: prices, tariffs, plans, fees, discounts, offers, price rises, value "
        "for money, cancellation or early exit fees.",
        ("The price is too high.", "What does the plan cost per month?", "Is there a discount?",
         "The price went up.", "What is the cancellation fee?"),
        ("price", "prices", "pricing", "cost", "costs", "expensive", "cheap", "cheaper",
         "tariff", "plan", "fee", "fees", "discount", "offer", "deal", "rate", "rise",
         "increase", "value for money", "monthly", "penalty"),
    ),
    "billing": LabelSpec(
        "billing",
        "Bills and payments: invoices, charges, direct debits, payment methods, refunds, wrong "
        "or duplicate charges, statements.",
        ("My bill is wrong.", "I was charged twice.", "A question about my invoice.",
         "The direct debit payment.", "Where is my refund?"),
        ("bill", "bills", "billing", "billed", "invoice", "invoices", "charge", "charged",
         "charges", "payment", "payments", "pay", "paid", "direct debit", "refund", "refunds",
         "statement", "credit", "debit", "card", "money back", "overcharged"),
    ),
    "service": LabelSpec(
        "service",
        "How the company treats the customer: customer service, advisors and agents, waiting "
        "times, call backs, opening hours, reaching a person, how a case was handled.",
        ("Your customer service was poor.", "I waited an hour on the phone.",
         "The advisor was rude.", "Nobody called me back.", "I want to speak to a human agent."),
        ("customer service", "service", "advisor", "adviser", "agent", "staff", "support",
         "wait", "waited", "waiting", "hold", "queue", "call back", "called back", "hung up",
         "rude", "helpful", "team", "human", "person", "chat", "opening hours", "case"),
    ),
    "other": LabelSpec(
        "other",
        "Anything else: the online account and login, passwords, registration, profile details, "
        "the website or the app, newsletters, privacy, moving house, transferring a contract.",
        ("I can't log in to my account.", "Reset my password.", "The website and the app.",
         "Subscribe to the newsletter.", "Privacy settings."),
        ("account", "login", "log in", "password", "pin", "register", "registration",
         "profile", "website", "app", "newsletter", "privacy", "email address", "username",
         "sign in", "settings"),
    ),
}


def default_taxonomy() -> Taxonomy:
    return Taxonomy(tuple(_CATEGORIES[c] for c in CATEGORIES), tuple(_CAUSES[c] for c in CAUSES))


def _spec(entry: Any, where: str) -> LabelSpec:
    if not isinstance(entry, dict):
        raise TaxonomyError(f"{where}: each entry needs a name and a description")
    unknown = set(entry) - {"name", "description", "examples", "keywords"}
    if unknown:
        raise TaxonomyError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    name = str(entry.get("name") or "").strip()
    description = str(entry.get("description") or "").strip()
    if not name or not description:
        raise TaxonomyError(f"{where}: each entry needs a name and a description")
    lists = {}
    for key in ("examples", "keywords"):
        value = entry.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TaxonomyError(f"{where} ({name}): {key} must be a list of strings")
        lists[key] = tuple(v.strip() for v in value if v.strip())
    return LabelSpec(name, description, lists["examples"], tuple(k.lower() for k in
                                                                  lists["keywords"]))


def load_taxonomy(path: Path | str) -> Taxonomy:
    """The default taxonomy with the causes (and category refinements) of a YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise TaxonomyError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or set(data) - {"causes", "categories"}:
        raise TaxonomyError(f"{path}: expected the keys causes and/or categories")
    base = default_taxonomy()
    causes = base.causes
    if "causes" in data:
        entries = data["causes"]
        if not isinstance(entries, list) or len(entries) < 2:
            raise TaxonomyError(f"{path}: causes must be a list of at least two entries")
        causes = tuple(_spec(e, f"{path}: causes[{i}]") for i, e in enumerate(entries))
        names = [c.name for c in causes]
        if len(set(names)) != len(names):
            raise TaxonomyError(f"{path}: cause names must be unique")
    categories = dict((c.name, c) for c in base.categories)
    for i, entry in enumerate(data.get("categories") or []):
        spec = _spec(entry, f"{path}: categories[{i}]")
        if spec.name not in categories:
            raise TaxonomyError(f"{path}: categories[{i}]: {spec.name!r} is not one of the "
                                f"fixed categories ({', '.join(CATEGORIES)})")
        old = categories[spec.name]
        categories[spec.name] = replace(spec, examples=spec.examples or old.examples,
                                        keywords=spec.keywords or old.keywords)
    return Taxonomy(tuple(categories.values()), causes, source=str(path))


def taxonomy_for_home(home: Path | None, override: Path | str | None = None) -> Taxonomy:
    """The taxonomy in effect: `override`, else `home/taxonomy.yaml` if present, else built-in."""
    if override is not None:
        return load_taxonomy(override)
    if home is not None and (Path(home) / TAXONOMY_FILE).is_file():
        return load_taxonomy(Path(home) / TAXONOMY_FILE)
    return default_taxonomy()
