"""More ways a customer says each built-in label, across trades and in two registers: a short
public post (to an airline, a telco, a shop, a bank, a game or a restaurant) and a long written
complaint (a bank, a lender, a credit bureau, a debt collector).

Zero-shot reads a label's phrasings as prototypes: a text's nearest phrasing counts as much as the
label's centre (zeroshot.MeaningView), and the adapted student starts from them. A handful of
phrasings written for one trade left the others' texts to whichever label happened to sound
closest: on real narratives and tweets most causes came out "billing" or "service". These were
written from each label's meaning (docs/classification.md), not taken from any data set.

Only the labels where more phrasings helped on the tune halves of the hand labels
(tests/realdata/LABELS.md) without costing the simulated company much have some here: phrasings
for the other categories and for pricing moved the demo company's requests to ideas, its
questions to transactions and its complaints to problems (category 0.963 -> 0.946 through the
classify step) and gained little on the real texts, so those labels keep their built-in examples.
Nine statements for information (a reply that gives a detail, a link, a greeting, a brand's own
promotion) were tried too: the tweets' category on the tune half rose 0.547 -> 0.567 with the
teacher, but Bitext's development half fell 0.772 -> 0.741, so information keeps its own.
"""

from __future__ import annotations

CATEGORY_EXAMPLES: dict[str, tuple[str, ...]] = {
    "complaint": (
        "Third call this week and still nobody has fixed it. Useless.",
        "You lied to me about the delivery date, again.",
        "Another delayed flight and not a word of explanation. Thanks for nothing.",
        "I'm cancelling and going to your competitor, I'm done with you.",
        "The company refused to correct the error even after I sent them proof.",
        "They keep reporting a debt I paid, which is against the law.",
        "The collector keeps calling me at work after I told them to stop.",
        "The bank ignored my disputes for months while my score dropped.",
        "Wow, charged twice, really great job guys.",
        "What the hell is going on with my order?!",
        "Can you actually help me or not?",
        "Lost my package, great job, really.",
        "Waited forty minutes for a coffee, not impressed.",
        "Your customer service is a joke and nobody answers.",
        "This company took my money and will not give it back.",
        "I have been a loyal customer for years and this is how you treat me.",
    ),
}

CAUSE_EXAMPLES: dict[str, tuple[str, ...]] = {
    "product": (
        "My credit report shows accounts that do not belong to me.",
        "The credit bureau still reports a late payment that was never late.",
        "A closed account is reported as open with a balance.",
        "The lender changed the terms of my loan modification.",
        "The bank closed my checking account without telling me why.",
        "My mortgage servicer will not honour the forbearance plan.",
        "The flight was delayed three hours and we sat on the runway.",
        "No wifi on the plane again and the seat would not recline.",
        "My food was cold and half the order was missing.",
        "The game keeps freezing since the last patch.",
        "My phone battery is flat after two hours.",
        "No signal at home for three days now.",
        "The album is listed but none of the songs will play.",
        "The camera setting keeps switching itself back on.",
        "My internet keeps dropping every evening.",
        "The train was cancelled and the next one was packed.",
        "A collection account on my credit report is inaccurate and must be removed.",
        "The bureau verified my dispute without checking and the account is still on my report.",
        "My paid-off account still shows a balance owed on my credit file.",
        "A debt I settled is still reported as unpaid, which hurts my score.",
    ),
    "billing": (
        "I was charged twice for the same order.",
        "Where is my refund? It has been two weeks.",
        "They took a payment after I cancelled.",
        "A collection agency says I owe a medical bill I already paid.",
        "This debt is not mine and they keep trying to collect it.",
        "An overdraft fee was taken from my account.",
        "My payment was applied late and I was charged a late fee.",
        "Pending charges keep going through on my card.",
        "The subscription renewed and charged me although I turned auto renew off.",
        "The statement shows an amount I do not owe.",
        "I cannot get an invoice for my trip.",
        "The money was taken from my account but the payment was not credited.",
    ),
    "service": (
        "I have been on hold for an hour.",
        "Nobody ever calls me back.",
        "The agent was rude and hung up on me.",
        "I have been passed between five departments and nobody can help.",
        "You answer everyone else's messages but not mine.",
        "The debt collector calls ten times a day and threatens me.",
        "They never replied to my letters or emails.",
        "The representative gave me the wrong information.",
        "The staff at the store were really helpful today.",
        "Thanks for getting back to me so fast.",
        "The queue was huge and the staff did not care.",
        "Can I speak to a manager, please?",
        "How do I make a formal complaint about your staff?",
        "They call me several times a day from different numbers about someone else's account.",
        "They never answered my written request to validate the debt.",
        "Their website would not let me file a dispute and nobody on the phone could help.",
        "Nobody at the call centre would give me any information about my case.",
    ),
    "delivery": (
        "My package still has not arrived.",
        "The courier left my parcel out in the rain.",
        "When will my pre-order ship?",
        "The airline lost my suitcase.",
        "The technician never showed up for the installation.",
        "I never received the replacement card in the mail.",
        "The check they promised was never mailed to me.",
        "Tracking has said out for delivery for three days.",
        "It was sent to the wrong address.",
        "I asked for a copy of my file and never received it.",
    ),
    "other": (
        "I cannot log in to my account on your website.",
        "Someone opened a credit card in my name.",
        "There are hard inquiries on my report that I never authorised.",
        "I am a victim of identity theft, please block these accounts.",
        "My personal information was exposed in a data breach.",
        "The contact form on the website will not accept my address.",
        "Please reset my password, I am locked out.",
        "Happy Halloween everyone!",
        "Look at this picture.",
        "Good night!",
        "lol same here",
        "Scammers are pretending to be your company.",
    ),
}
