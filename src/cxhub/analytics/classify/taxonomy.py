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

from cxhub.analytics.classify.label_examples import CATEGORY_EXAMPLES, CAUSE_EXAMPLES
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

    def to_dict(self) -> dict[str, Any]:
        """As a saved model's metadata keeps it."""
        return {"name": self.name, "description": self.description,
                "examples": list(self.examples), "keywords": list(self.keywords)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabelSpec:
        return cls(d["name"], d["description"], tuple(d.get("examples", ())),
                   tuple(d.get("keywords", ())))


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
         "I can't log in.", "My order has not arrived.",
         "There is an error on my account, please correct it.",
         "This account is not mine, please remove it."),
        ("not working", "doesn't work", "does not work", "problem", "problems", "issue",
         "issues", "error", "fault", "faulty", "broken", "can't", "cannot", "unable", "failed",
         "fails", "wrong", "trouble", "stopped", "keeps", "drops", "outage", "down", "missing",
         "never arrived", "not arrived", "stuck", "crash", "help"),
    ),
    "complaint": LabelSpec(
        "complaint",
        "The customer is dissatisfied with the company and says so: unhappy, disappointed, "
        "frustrated or angry about poor service, unfair treatment, a fault or a charge that "
        "keeps coming back, being ignored or let down; wants to complain formally, escalate or "
        "claim compensation. A fault told with anger or exasperation is a complaint.",
        ("I want to make a formal complaint.", "I am very unhappy with your company.",
         "This is unacceptable.", "I am disappointed with the service I received.",
         "I want to file a claim against you.", "Terrible service, I'm fed up.",
         "My connection has failed again and frankly I have had enough of you.",
         "I reported this three times already and nobody has done anything, it is a disgrace.",
         "You charged me twice and no one cares, I am so frustrated.",
         "Really not happy: the engineer never came and nobody told me why.",
         "I disputed this several times and they still refuse to correct it.",
         "They ignored my letters and broke the law, I want this fixed now."),
        ("complaint", "complain", "complaining", "unhappy", "not happy", "unacceptable",
         "disappointed", "disappointing", "fed up", "had enough", "sick of", "tired of",
         "frustrated", "frustrating", "annoyed", "angry", "furious", "disgusted", "shambles",
         "joke", "nobody cares", "no one cares", "third time", "yet again", "again and again",
         "not impressed", "terrible", "worst", "awful", "horrible", "pathetic", "ridiculous",
         "disgrace", "disgraceful", "shocking", "incompetent", "unfair", "lied", "misled",
         "claim", "escalate", "compensation", "not acceptable", "appalling", "useless", "rude",
         "poor", "bad", "waste", "never again", "refused", "refuse", "refuses", "failed to",
         "violation", "violated", "violating", "illegal", "unlawful", "negligent", "deceptive",
         "harassing", "harassed", "lie", "lying", "shady", "sucks", "trash", "wtf", "hell",
         "fuck", "fucking", "not cool", "smh", "lost me", "never coming back", "unbelievable"),
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
        "The product or service itself and whether it is right: its quality, features, faults "
        "and performance; devices, software, the connection or coverage, food, a flight; an item "
        "that is defective or not as described; for a bank or lender the card, account or loan "
        "and its terms, and what a report about the customer says (a wrong balance, a late "
        "payment that was not late, an account reported wrongly).",
        ("The device is faulty.", "The connection keeps dropping.",
         "The product quality is poor.", "The item does not work as described.",
         "The signal and the speed are bad.", "The app keeps crashing after the update.",
         "My credit report shows a late payment that is wrong.",
         "The loan is not what I was promised."),
        ("product", "item", "device", "quality", "defective", "faulty", "internet", "signal",
         "speed", "connection", "coverage", "network", "phone", "feature", "works", "model",
         "battery", "update", "software", "screen", "crash", "crashes", "wifi", "broadband",
         "credit report", "credit file", "reporting", "reported", "inaccurate", "incorrect",
         "late payment", "late payments", "credit score", "loan", "mortgage", "bankruptcy",
         "credit bureau", "bureau", "credit reports", "derogatory", "tradeline", "removed from my",
         "verified", "still reporting"),
    ),
    "delivery": LabelSpec(
        "delivery",
        "Getting the product to the customer: shipping, delivery times, tracking, couriers, "
        "parcels, orders that have not arrived, installation appointments and engineer visits, "
        "shipping addresses, returns; lost luggage; a card, letter or cheque that never came in "
        "the post.",
        ("Where is my parcel?", "The delivery is late.", "The courier did not come.",
         "The engineer appointment for the installation.", "Change my shipping address.",
         "Tracking my order shipment.", "My order still has not arrived.",
         "The new card never arrived in the mail."),
        ("delivery", "deliver", "delivered", "shipping", "shipment", "ship", "shipped",
         "courier", "parcel", "package", "tracking", "track", "arrive", "arrived", "dispatch",
         "engineer", "installation", "install", "appointment", "visit", "return", "post",
         "address", "never arrived", "never received", "not received", "in the mail",
         "luggage", "bags", "pre-order", "preorder"),
    ),
    "pricing": LabelSpec(
        "pricing",
        "What things cost: prices, tariffs, plans, fees, discounts, offers and promotions, "
        "price rises, value for money, cancellation or early exit fees, interest rates.",
        ("The price is too high.", "What does the plan cost per month?", "Is there a discount?",
         "The price went up.", "What is the cancellation fee?",
         "The interest rate is much higher than I was offered."),
        ("price", "prices", "pricing", "cost", "costs", "expensive", "cheap", "cheaper",
         "tariff", "plan", "fee", "fees", "discount", "offer", "deal", "rate", "rise",
         "increase", "value for money", "monthly", "penalty", "interest rate", "apr",
         "promotion", "promo", "free"),
    ),
    "billing": LabelSpec(
        "billing",
        "Bills and payments: invoices, charges, direct debits, payment methods, refunds, wrong "
        "or duplicate charges, statements; money taken or owed, a debt the company says is owed "
        "and its collection.",
        ("My bill is wrong.", "I was charged twice.", "A question about my invoice.",
         "The direct debit payment.", "Where is my refund?",
         "A collector says I owe a debt I already paid."),
        ("bill", "bills", "billing", "billed", "invoice", "invoices", "charge", "charged",
         "charges", "payment", "payments", "pay", "paid", "direct debit", "refund", "refunds",
         "statement", "debit", "money back", "overcharged", "debt", "owe", "owed", "balance",
         "collection", "collections", "collect", "withdrawn", "deposit"),
    ),
    "service": LabelSpec(
        "service",
        "How the company treats the customer: customer service, advisors and agents, waiting "
        "times, call backs, no answer to letters or calls, being passed around, rude or "
        "threatening calls, opening hours, reaching a person, how a case was handled.",
        ("Your customer service was poor.", "I waited an hour on the phone.",
         "The advisor was rude.", "Nobody called me back.", "I want to speak to a human agent.",
         "They keep calling me and never answer my letters."),
        ("customer service", "service", "advisor", "adviser", "agent", "staff", "support",
         "wait", "waited", "waiting", "hold", "queue", "call back", "called back", "hung up",
         "rude", "helpful", "team", "human", "person", "chat", "opening hours", "case",
         "representative", "supervisor", "manager", "no response", "never responded",
         "calling me", "harass", "harassing", "harassment", "ignored", "respond",
         "times a day", "phone calls", "keep calling", "validation", "validate", "no one"),
    ),
    "other": LabelSpec(
        "other",
        "Anything else: the online account and login, passwords, registration, profile details, "
        "the website or the app, newsletters, privacy and personal information, identity theft "
        "and fraud by others, moving house, transferring a contract.",
        ("I can't log in to my account.", "Reset my password.", "The website and the app.",
         "Subscribe to the newsletter.", "Privacy settings.",
         "Someone stole my identity and opened accounts in my name."),
        ("account", "login", "log in", "password", "pin", "register", "registration",
         "profile", "website", "app", "newsletter", "privacy", "email address", "username",
         "sign in", "settings", "identity theft", "identity", "fraud", "fraudulent", "stolen",
         "inquiry", "inquiries", "personal information", "hacked", "scam", "unauthorized"),
    ),
}


def default_taxonomy() -> Taxonomy:
    """The built-in labels, each with the further phrasings of `label_examples`."""
    def more(spec: LabelSpec, extra: dict[str, tuple[str, ...]]) -> LabelSpec:
        return replace(spec, examples=spec.examples + extra.get(spec.name, ()))

    return Taxonomy(tuple(more(_CATEGORIES[c], CATEGORY_EXAMPLES) for c in CATEGORIES),
                    tuple(more(_CAUSES[c], CAUSE_EXAMPLES) for c in CAUSES))


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
