"""Name, street and place vocabularies for the fictional customers (a UK-style market)."""

from __future__ import annotations

# First name -> the nickname other systems sometimes hold ("" when it has none in common use).
FIRST_NAMES: dict[str, str] = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Katherine": "Kate",
    "Margaret": "Maggie", "Richard": "Rick", "James": "Jim", "Jennifer": "Jen",
    "Michael": "Mike", "Christopher": "Chris", "Thomas": "Tom", "Joseph": "Joe",
    "Daniel": "Dan", "Matthew": "Matt", "Anthony": "Tony", "Jonathan": "Jon",
    "Samantha": "Sam", "Alexander": "Alex", "Victoria": "Vicky", "Rebecca": "Becky",
    "Nicholas": "Nick", "Patricia": "Pat", "Susan": "Sue", "Deborah": "Debbie",
    "Edward": "Ted", "Benjamin": "Ben", "Catherine": "Cathy", "Stephen": "Steve",
    "Andrew": "Andy", "Timothy": "Tim", "Jessica": "Jess", "Abigail": "Abby",
    "Frederick": "Fred", "Charlotte": "Lottie", "Peter": "Pete", "Gregory": "Greg",
    "Amelia": "Millie", "Oliver": "Ollie", "Harriet": "Hattie", "Penelope": "Penny",
    "Olivia": "", "Sophie": "", "Grace": "", "Emily": "", "Chloe": "", "Lucy": "",
    "Hannah": "", "Ella": "", "Isla": "", "Freya": "", "Amira": "", "Priya": "",
    "Aisha": "", "Zara": "", "Niamh": "", "Siobhan": "", "Fatima": "", "Mei": "",
    "George": "", "Harry": "", "Jack": "", "Noah": "", "Leo": "", "Oscar": "",
    "Arjun": "", "Mohammed": "", "Ravi": "", "Kwame": "", "Tariq": "", "Owen": "",
    "Rhys": "", "Callum": "", "Liam": "", "Ewan": "", "Declan": "", "Piotr": "",
}  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Khan", "Hughes", "Edwards", "Turner", "Hill", "Moore",
    "Cooper", "Ward", "Morris", "King", "Watson", "Harrison", "Morgan", "Baker", "Young",
    "Allen", "Mitchell", "Anderson", "Lewis", "Begum", "Ahmed", "Singh", "Kaur", "Murphy",
    "Kelly", "Campbell", "Stewart", "MacDonald", "Fraser", "Nowak", "Kowalski", "Okafor",
    "Mensah", "Chen", "Wong", "Nguyen", "Fernandes", "Costa", "Rossi", "Bianchi", "Murray",
    "Bennett", "Shaw", "Holmes", "Palmer", "Fletcher", "Barker", "Gibson", "Pearce",
    "Ellis", "Chapman", "Dixon", "Hunt", "Mason", "Marshall", "Webb", "Rogers", "Lloyd",
    "Reid", "Hussain", "Ali", "Sharma", "Das", "Quinn", "Doyle", "Byrne", "Gallagher",
    "Armstrong", "Fox", "Lane", "Russell", "Sutton", "Hayes", "Burke", "Pritchard",
)  # fmt: skip

STREET_NAMES: tuple[str, ...] = (
    "Mill", "Church", "Station", "Victoria", "Park", "Queens", "Kings", "Manor", "Chapel",
    "Orchard", "Meadow", "Willow", "Elm", "Oak", "Beech", "Ash", "Cedar", "Hawthorn",
    "Bridge", "Castle", "Market", "North", "South", "West", "East", "High", "Grange",
    "Ferry", "Harbour", "Quarry", "Foundry", "Canal", "Brook", "Heath", "Abbey", "Priory",
    "Windmill", "Cherry", "Rowan", "Larch", "Poplar", "Sycamore", "Hazel", "Juniper",
)  # fmt: skip
STREET_TYPES: tuple[str, ...] = (
    "Street", "Road", "Lane", "Avenue", "Close", "Drive", "Way", "Crescent", "Gardens",
)  # fmt: skip
# How other systems abbreviate the street type.
STREET_ABBREVIATIONS = {
    "Street": "St", "Road": "Rd", "Lane": "Ln", "Avenue": "Ave", "Close": "Cl",
    "Drive": "Dr", "Way": "Way", "Crescent": "Cres", "Gardens": "Gdns",
}  # fmt: skip

# Fictional towns with a postcode area and a region.
TOWNS: tuple[tuple[str, str, str], ...] = (
    ("Ashbridge", "AB", "North West"), ("Brackenford", "BF", "Yorkshire"),
    ("Carrowmere", "CM", "North East"), ("Dunhallow", "DH", "Scotland"),
    ("Elmstead", "EL", "East of England"), ("Fernleigh", "FL", "South West"),
    ("Glenmarsh", "GM", "Scotland"), ("Harrowgate Vale", "HV", "Yorkshire"),
    ("Ivybridge Down", "ID", "South West"), ("Kestrel Bay", "KB", "Wales"),
    ("Larkhill Cross", "LC", "South East"), ("Millbourne", "MB", "London"),
    ("Northcombe", "NC", "West Midlands"), ("Oakhampton Leys", "OL", "East Midlands"),
    ("Pennywell", "PW", "North East"), ("Redcastle", "RC", "Wales"),
    ("Stonebridge", "SB", "London"), ("Thornbury Heath", "TH", "South East"),
    ("Upperfield", "UF", "East of England"), ("Westharbour", "WH", "North West"),
)  # fmt: skip
TOWN_WEIGHTS: tuple[float, ...] = (
    6, 5, 4, 4, 5, 4, 3, 4, 3, 3, 6, 12, 7, 5, 3, 3, 10, 6, 4, 5,
)  # fmt: skip

EMAIL_DOMAINS: tuple[str, ...] = (
    "mailbox.example",
    "post.example",
    "inbox.example",
    "webmail.example",
    "fastmail.example",
)
EMAIL_DOMAIN_WEIGHTS: tuple[float, ...] = (0.35, 0.25, 0.2, 0.15, 0.05)
