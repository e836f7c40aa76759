"""Classification of contacts and mentions: category, cause and sentiment.

`taxonomy` holds the labels and their descriptions; `model` the protocol every model kind follows
and the registry of kinds; `linear`, `embedding`, `zeroshot` (and `finetuned`) the kinds;
`evaluate` the measures. Heavy optional packages (torch, sentence-transformers) are imported only
inside the kinds that need them, and only when used.
"""
