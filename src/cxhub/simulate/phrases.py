"""Interchangeable parts that contact, mention and survey texts are composed from.

A text is opener + frame(category) around a topic(cause) + detail(cause, tone) + closing, so
each category x cause pair has thousands of distinct wordings and a classifier has to learn the
frame and the topic rather than memorise a template. All phrasings are written for cxhub.
"""

from __future__ import annotations

# Singular noun phrases, so every frame reads correctly around every topic.
TOPICS: dict[str, tuple[str, ...]] = {
    "product": (
        "my broadband connection",
        "the wifi at home",
        "the router you sent",
        "my mobile data",
        "the signal on my phone",
        "the TV box",
        "the fibre line",
        "the landline",
        "my internet speed",
        "the mesh extender",
        "the 5G service",
        "the set-top box recording",
    ),
    "delivery": (
        "the router delivery",
        "the engineer appointment",
        "my SIM card in the post",
        "the installation visit",
        "the parcel with my new kit",
        "the courier drop-off",
        "the replacement handset shipment",
        "the return label for my old router",
    ),
    "pricing": (
        "the price of my package",
        "the monthly fee",
        "the new tariff",
        "the price rise",
        "the out-of-contract rate",
        "the loyalty discount",
        "the cost of the sports add-on",
        "the upgrade price",
        "the early exit fee",
        "the price for existing customers",
    ),
    "billing": (
        "my latest bill",
        "the direct debit",
        "this month's invoice",
        "the payment I made",
        "the refund on my account",
        "the charge on my statement",
        "my billing address",
        "the paperless bill",
        "the credit on my account",
        "the final bill",
    ),
    "service": (
        "your customer service",
        "the advisor I spoke to",
        "the wait on the phone line",
        "the support chat",
        "the way my case was handled",
        "the call back I was promised",
        "the team in the shop",
        "your help centre",
        "the reply to my email",
    ),
    "other": (
        "my online account login",
        "the app",
        "the website",
        "moving house",
        "the parental controls",
        "my password reset",
        "the coverage map",
        "the privacy settings",
        "the email address on my account",
        "the contract transfer",
    ),
}

FRAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "information": (
        ("Could you explain how ", " works?"),
        ("I have a question about ", "."),
        ("Can someone tell me more about ", "?"),
        ("I'm trying to understand ", "."),
        ("What are my options regarding ", "?"),
        ("Where do I find the details of ", "?"),
        ("Is there any information about ", "?"),
        ("Quick question on ", "."),
        ("I'd like to know more about ", " before I decide anything."),
        ("Not sure how ", " is supposed to work, can you clarify?"),
    ),
    "transaction": (
        ("I'd like to make a change to ", "."),
        ("Please can you update ", " for me."),
        ("I want to sort out ", " today."),
        ("Can you help me set up ", "?"),
        ("I need to arrange something to do with ", "."),
        ("Could you process a change on ", "?"),
        ("I'm ready to go ahead with ", "."),
        ("Please make a change to ", " as soon as you can."),
        ("I'd like to switch ", " over to my partner's name."),
        ("Can I book ", " for next week?"),
    ),
    "problem": (
        ("There is something wrong with ", "."),
        ("I'm having trouble with ", "."),
        ("I can't get ", " to work properly."),
        ("Something has gone wrong with ", "."),
        ("I keep running into issues with ", "."),
        ("Help, ", " is not right."),
        ("We've got a fault with ", "."),
        ("For a few days now I've had problems with ", "."),
        ("It looks like ", " is broken."),
        ("Is there a known issue with ", "?"),
    ),
    "complaint": (
        ("I want to make a formal complaint about ", "."),
        ("I am really unhappy with ", "."),
        ("This is not acceptable: ", "."),
        ("I'm fed up with ", "."),
        ("I have to complain about ", " yet again."),
        ("Frankly ", " has been a shambles."),
        ("Very disappointed with ", "."),
        ("I'm writing to complain about ", "."),
        ("I've had enough of ", "."),
        ("Third time I'm raising ", " and nobody cares."),
    ),
    "idea": (
        ("A suggestion about ", ":"),
        ("It would be great if you could improve ", "."),
        ("Have you thought about changing ", "?"),
        ("Here's an idea for ", "."),
        ("Why not rethink ", "?"),
        ("I think ", " could be so much better."),
        ("Just an idea regarding ", "."),
        ("Feature request for ", "."),
        ("Could you consider a different approach to ", "?"),
        ("Small tip about ", "."),
    ),
    "compliment": (
        ("I just wanted to say thank you for ", "."),
        ("Really impressed with ", "."),
        ("Credit where it's due, ", " has been excellent."),
        ("Big thanks for ", "."),
        ("Happy to say ", " has been spot on."),
        ("Well done on ", "."),
        ("Lovely experience with ", "."),
        ("Great job with ", "."),
        ("Pleasantly surprised by ", "."),
        ("Five stars for ", "."),
    ),
}

# Tone of each category: which detail sentences fit it.
TONE = {
    "information": "neutral", "transaction": "neutral", "problem": "negative",
    "complaint": "negative", "idea": "idea", "compliment": "positive",
}  # fmt: skip

DETAILS: dict[tuple[str, str], tuple[str, ...]] = {
    ("product", "negative"): (
        "It drops out every evening.",
        "The lights keep flashing orange.",
        "Speeds are a fraction of what I pay for.",
        "I have restarted it loads of times.",
        "Calls cut off after a minute.",
        "The picture freezes constantly.",
    ),
    ("product", "neutral"): (
        "I work from home so it matters.",
        "We have four people streaming at once.",
        "I saw the faster plan on your website.",
        "My contract mentions a minimum speed.",
        "It's for my daughter's phone.",
    ),
    ("product", "idea"): (
        "A simple status light in the app would help.",
        "Let us schedule the wifi off at night.",
        "An outage text alert would save everyone calls.",
        "Guest wifi would be handy.",
    ),
    ("product", "positive"): (
        "Not a single drop in months.",
        "Streaming is flawless now.",
        "The new router covers the whole house.",
        "Signal is great even in the garden.",
    ),
    ("delivery", "negative"): (
        "Nobody turned up in the slot.",
        "The tracking has not moved for days.",
        "It was left on the doorstep in the rain.",
        "The engineer cancelled twice.",
        "I took a day off work for nothing.",
        "The box arrived empty.",
    ),
    ("delivery", "neutral"): (
        "I'm out during the day.",
        "Can it go to my work address?",
        "I need a morning slot if possible.",
        "There is a side gate.",
    ),
    ("delivery", "idea"): (
        "A narrower time window would be great.",
        "Let us pick a locker for collection.",
        "Text me when the van is close.",
    ),
    ("delivery", "positive"): (
        "It came a day early.",
        "The engineer was on time and tidy.",
        "Setup took ten minutes.",
        "The courier was really friendly.",
    ),
    ("pricing", "negative"): (
        "New customers pay half what I do.",
        "Nobody told me the price was going up.",
        "That's a huge jump from last year.",
        "It's far more than I signed up for.",
        "I'll leave if this is not sorted.",
    ),
    ("pricing", "neutral"): (
        "My contract ends next month.",
        "I'm comparing a few providers.",
        "Is there a deal for existing customers?",
        "I only use it at weekends.",
    ),
    ("pricing", "idea"): (
        "Reward loyal customers for once.",
        "A cheaper data-only plan would sell.",
        "Show the full price up front.",
    ),
    ("pricing", "positive"): (
        "The discount made a real difference.",
        "Fair price for what I get.",
        "Cheaper than my old provider.",
    ),
    ("billing", "negative"): (
        "The amount is wrong.",
        "I was charged for something I never ordered.",
        "The payment went out twice.",
        "My refund never arrived.",
        "The direct debit was taken on the wrong date.",
        "There is a fee I don't recognise.",
    ),
    ("billing", "neutral"): (
        "I changed banks recently.",
        "I'd like paper copies for my records.",
        "My partner normally pays it.",
        "I need it for my tax return.",
    ),
    ("billing", "idea"): (
        "Let us choose the payment date.",
        "A clearer breakdown of charges would help.",
        "Send the bill as a PDF attachment.",
    ),
    ("billing", "positive"): (
        "The refund came through quickly.",
        "The new bill layout is much clearer.",
        "Sorting the payment was painless.",
    ),
    ("service", "negative"): (
        "I waited over an hour.",
        "I was passed between four departments.",
        "The advisor hung up on me.",
        "Nobody called back as promised.",
        "I had to explain everything again each time.",
        "The chat closed mid-conversation.",
    ),
    ("service", "neutral"): (
        "I called earlier about the same thing.",
        "I have a case reference already.",
        "Is there a better time to ring?",
        "I prefer email to phone.",
    ),
    ("service", "idea"): (
        "Offer a call back instead of the queue.",
        "Keep notes so I don't repeat myself.",
        "Open the chat in the evenings.",
    ),
    ("service", "positive"): (
        "The advisor was patient and clear.",
        "Sorted in one call.",
        "Priya on the chat went above and beyond.",
        "Quick and friendly help.",
    ),
    ("other", "negative"): (
        "It keeps saying my details are wrong.",
        "The page just spins.",
        "I'm locked out completely.",
        "The link in the email is broken.",
    ),
    ("other", "neutral"): (
        "I'm moving at the end of the month.",
        "I share the account with my son.",
        "I have a new email address.",
        "I'm using an older phone.",
    ),
    ("other", "idea"): (
        "A dark mode would be nice.",
        "Let me log in with my fingerprint.",
        "Make the help pages searchable.",
    ),
    ("other", "positive"): (
        "The new app is really easy to use.",
        "Moving my service was seamless.",
        "The website redesign is great.",
    ),
}

RELEASE_DETAILS = (
    "Ever since the latest update it restarts on its own.",
    "It stopped working right after the software update.",
    "Since the update the wifi keeps vanishing.",
    "After the firmware update nothing connects.",
    "The update seems to have broken it completely.",
    "My neighbours have the same fault since the update.",
)
BILLING_INCIDENT_DETAILS = (
    "I've been charged twice this month.",
    "The bill is double what it normally is.",
    "You took two payments for the same month.",
    "My invoice shows the same charge twice.",
    "There's a duplicate charge on my account.",
)

# The Fibre 500 upgrade campaign (calendar.csv): people who contact because of it mention the
# offer, each in their own words, and what they ask depends on the cause.
CAMPAIGN_DETAILS: dict[str, tuple[str, ...]] = {
    "pricing": (
        "I got your email about the Fibre 500 upgrade offer.",
        "Is the half-price upgrade offer open to existing customers?",
        "How much will Fibre 500 cost once the offer ends?",
        "Your offer says the first six months are half price.",
        "Is the upgrade offer price fixed for the whole contract?",
    ),
    "product": (
        "Your email offers an upgrade to Fibre 500 speeds.",
        "Would the Fibre 500 upgrade make my connection faster?",
        "Is the Fibre 500 offer available at my address?",
        "I'd like the speed upgrade from your offer email.",
        "Do I need a new router for the Fibre 500 upgrade?",
    ),
    "billing": (
        "Which bill will the Fibre 500 upgrade offer start on?",
        "Will the Fibre 500 upgrade change my direct debit payment?",
        "My bill should show the upgrade offer from this month.",
        "Do I pay for the Fibre 500 upgrade offer on the same bill?",
    ),
}
CAMPAIGN_MENTION = 0.96  # the share of campaign contacts that mention the offer

OPENERS: dict[str, tuple[str, ...]] = {
    "phone": ("", "", "Hi, ", "Hello, yes, ", "Good morning, ", "Right, so ", "Hiya, "),
    "chat": ("", "hi ", "Hello! ", "Hi there, ", "hey, ", "Morning, "),
    "email": ("Hello, ", "Hi, ", "Dear team, ", "Good afternoon, ", "Hi there, ", ""),
    "web": ("", "", "Hello, ", "Hi, "),
    "letter": ("Dear Sir or Madam, ", "To whom it may concern, ", "Dear Northwind, "),
    "social": ("", "", "Hey, ", "Hi, "),
    "community": ("", "Hi all, ", "Hello everyone, ", "Anyone else? ", ""),
}

CLOSINGS: dict[str, tuple[str, ...]] = {
    "negative": (
        "",
        "Please sort this out.",
        "I expect a call back.",
        "Can you fix this quickly?",
        "What are you going to do about it?",
        "Thanks.",
        "Not impressed.",
    ),
    "neutral": ("", "Thanks in advance.", "Cheers.", "Kind regards.", "Thank you.", ""),
    "idea": ("", "Just a thought.", "Thanks for listening.", "Hope that helps."),
    "positive": ("", "Keep it up!", "Thanks again.", "Much appreciated.", "Cheers!"),
}

SUBJECT_WORDS: dict[str, tuple[str, ...]] = {
    "information": ("Question about", "Query:", "Info on"),
    "transaction": ("Change to", "Request:", "Update"),
    "problem": ("Fault with", "Issue:", "Not working -"),
    "complaint": ("Complaint:", "Formal complaint -", "Unhappy with"),
    "idea": ("Suggestion:", "Idea for", "Feedback on"),
    "compliment": ("Thank you -", "Praise for", "Great"),
}
SUBJECT_NOUNS: dict[str, tuple[str, ...]] = {
    "product": ("broadband", "wifi", "mobile data", "TV box", "router"),
    "delivery": ("delivery", "engineer visit", "installation", "parcel"),
    "pricing": ("price", "tariff", "monthly cost", "discount"),
    "billing": ("bill", "invoice", "direct debit", "payment"),
    "service": ("customer service", "support", "my case", "call back"),
    "other": ("account", "app", "website", "login"),
}

HASHTAGS: dict[str, tuple[str, ...]] = {
    "negative": ("", "", "#fail", "#notimpressed", "#outage", "#help"),
    "neutral": ("", "", "#question", "#help"),
    "idea": ("", "#suggestion", "#idea"),
    "positive": ("", "#thanks", "#happycustomer", "#impressed"),
}
BRAND_REPLIES: dict[str, tuple[str, ...]] = {
    "negative": (
        "Sorry to hear this. Please DM us your account number and we'll look into it.",
        "We're sorry for the trouble. Can you send us a DM with your postcode?",
        "That's not the experience we want for you. We've sent you a DM.",
        "Apologies! Our team is on it; DM us and we'll check your line.",
    ),
    "neutral": (
        "Happy to help! Send us a DM with the details.",
        "Thanks for asking. You'll find the details in our help centre, or DM us.",
        "Good question! We've sent you a DM.",
    ),
    "idea": ("Thanks for the idea! We've passed it to the team.", "Love this, thanks for sharing."),
    "positive": ("Thanks so much, we'll pass this on!", "That's great to hear, thanks!"),
}

# Survey comments: (tone, aspect) -> phrases; the aspect follows what happened in the contact.
COMMENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("negative", "wait"): (
        "Far too long on hold.",
        "The queue was ridiculous.",
        "Waited ages before anyone picked up.",
    ),
    ("negative", "resolution"): (
        "Still not fixed.",
        "Problem is still there.",
        "Nothing was resolved.",
        "Going round in circles.",
    ),
    ("negative", "agent"): (
        "The advisor didn't listen.",
        "Felt rushed off the call.",
        "Got conflicting answers.",
    ),
    ("negative", "general"): ("Poor.", "Not good enough.", "Disappointing experience."),
    ("neutral", "wait"): ("Bit of a wait but fine.", "Took a while to get through."),
    ("neutral", "resolution"): ("Partly sorted.", "We'll see if it holds.", "OK for now."),
    ("neutral", "agent"): ("Advisor was fine.", "Polite enough."),
    ("neutral", "general"): ("Average.", "It was OK.", "Nothing special."),
    ("positive", "wait"): ("Got through straight away.", "No waiting at all."),
    ("positive", "resolution"): (
        "Sorted first time.",
        "Fixed quickly.",
        "All resolved, thank you.",
    ),
    ("positive", "agent"): (
        "Lovely advisor.",
        "Really helpful person.",
        "Explained everything clearly.",
    ),
    ("positive", "general"): ("Great service.", "Very happy.", "Excellent, thanks."),
}
