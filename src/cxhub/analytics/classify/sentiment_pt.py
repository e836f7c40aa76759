"""A small Portuguese sentiment lexicon and scorer, written for cxhub (no outside word list).

VADER's lexicon is English: on Portuguese it scores almost everything neutral. This scorer
follows VADER's arithmetic (word valences from -4 to +4, a negation flips and damps the next
words, intensifiers add to a word's strength, a contrast word shifts the weight to the clause
after it, exclamation marks add emphasis, the sum is squashed into [-1, 1]) over a lexicon of
some 350 everyday words and phrases of customer service and online shopping: delivery on time
or late, a product broken, wrong or missing, an order not received, help that came or did not.

Words are matched without accents and in lower case, as reviews are often typed without them.
The lexicon was written from general knowledge of the language and then adjusted on one half
of the Olist reviews; the other half was only used to report agreement (see docs/listening.md).
"""

from __future__ import annotations

import math
import re
import unicodedata

# Valence of a word or phrase (accents stripped, lower case), on VADER's -4..+4 scale.
POSITIVE = {
    "otimo": 3.0, "otima": 3.0, "otimos": 3.0, "otimas": 3.0, "excelente": 3.3,
    "excelentes": 3.3, "perfeito": 3.0, "perfeita": 3.0, "perfeitos": 3.0, "perfeitas": 3.0,
    "maravilhoso": 3.2, "maravilhosa": 3.2, "bom": 2.0, "boa": 2.0, "bons": 2.0, "boas": 2.0,
    "legal": 1.8, "lindo": 2.5, "linda": 2.5, "lindos": 2.5, "lindas": 2.5, "bonito": 2.2,
    "bonita": 2.2, "adorei": 3.0, "amei": 3.2, "amo": 3.0, "adoro": 3.0, "gostei": 2.2,
    "gostamos": 2.2, "curti": 2.0, "recomendo": 2.5, "recomendado": 2.2, "recomendada": 2.2,
    "satisfeito": 2.2, "satisfeita": 2.2, "satisfeitos": 2.2, "satisfacao": 2.0,
    "feliz": 2.4, "contente": 2.0, "rapido": 1.5, "rapida": 1.5, "rapidos": 1.5,
    "rapidez": 1.6, "rapidamente": 1.4, "agil": 1.5, "agilidade": 1.6, "eficiente": 2.0,
    "eficiencia": 2.0, "eficaz": 1.8, "parabens": 2.8, "obrigado": 1.5, "obrigada": 1.5,
    "agradeco": 1.8, "grato": 1.8, "grata": 1.8, "confiavel": 2.0, "confianca": 1.5,
    "correto": 1.2, "correta": 1.2, "corretamente": 1.2, "certinho": 1.8, "certinha": 1.8,
    "tranquilo": 1.2, "tranquila": 1.2, "sucesso": 2.0, "top": 2.5, "show": 2.0,
    "melhor": 2.0, "impecavel": 3.0, "incrivel": 2.8, "fantastico": 3.0, "fantastica": 3.0,
    "sensacional": 3.0, "superou": 2.5, "supera": 2.0, "atendeu": 1.5, "atende": 1.2,
    "pontual": 2.0, "funciona": 1.2, "funcionando": 1.2, "resolvido": 1.5, "resolveu": 1.5,
    "ajudou": 1.5, "gentil": 2.0, "atencioso": 2.0, "atenciosa": 2.0, "educado": 1.8,
    "simpatico": 2.0, "facil": 1.3, "pratico": 1.5, "pratica": 1.5, "confortavel": 1.8,
    "agradavel": 2.0, "valeu": 1.8, "beleza": 1.5, "barato": 1.0, "seguro": 1.0,
    "excepcional": 3.0, "qualidade": 0.6, "conforme": 0.8, "bem": 1.2, "amou": 3.0,
    "gostou": 2.2, "adorou": 3.0, "ideal": 1.8, "caprichado": 2.0, "zero": 0.0,
    "perfeicao": 3.0, "ok": 0.9, "chegou": 0.5,
    "recebi": 0.4, "entregue": 0.6, "entrega": 0.2, "antes": 0.8, "prazo": 0.3,
    "super": 1.5, "bacana": 2.0, "massa": 1.0, "joia": 2.0, "vale": 0.5, "indico": 2.0,
    "cumpre": 1.2, "cumpriu": 1.2, "cumprida": 1.2, "cumprido": 1.2, "esperado": 0.8,
    "expectativas": 0.6, "expectativa": 0.6, "satisfatorio": 1.8, "eficientes": 2.0,
    "gostando": 2.0, "adequado": 1.2, "adequada": 1.2,
}  # fmt: skip
NEGATIVE = {
    "ruim": -2.5, "ruins": -2.5, "pessimo": -3.4, "pessima": -3.4, "pessimos": -3.4,
    "pessimas": -3.4, "horrivel": -3.3, "horriveis": -3.3, "terrivel": -3.2, "lixo": -3.0,
    "decepcionado": -2.6, "decepcionada": -2.6, "decepcao": -2.8, "decepcionante": -2.8,
    "insatisfeito": -2.5, "insatisfeita": -2.5, "insatisfacao": -2.5, "problema": -1.8,
    "problemas": -1.8, "defeito": -2.2, "defeitos": -2.2, "defeituoso": -2.4,
    "defeituosa": -2.4, "quebrado": -2.4, "quebrada": -2.4, "quebrados": -2.4,
    "quebrou": -2.2, "danificado": -2.3, "danificada": -2.3, "estragado": -2.3,
    "estragada": -2.3, "rasgado": -1.8, "rasgada": -1.8, "amassado": -1.8, "amassada": -1.8,
    "errado": -2.0, "errada": -2.0, "errados": -2.0, "erradas": -2.0, "erro": -1.8,
    "faltando": -2.0, "faltou": -2.0, "falta": -1.2, "atraso": -2.2, "atrasado": -2.0,
    "atrasada": -2.0, "atrasou": -2.0, "atrasos": -2.2, "demora": -1.8, "demorou": -1.6,
    "demorada": -1.6, "demorado": -1.6, "lento": -1.5, "lenta": -1.5, "reclamacao": -1.8,
    "reclamar": -1.5, "golpe": -3.0, "fraude": -3.2, "enganado": -2.8, "enganada": -2.8,
    "enganosa": -2.8, "enganoso": -2.8, "mentira": -2.6, "absurdo": -2.6, "vergonha": -2.6,
    "descaso": -2.8, "desrespeito": -2.8, "falso": -2.3, "falsa": -2.3,
    "falsificado": -2.8, "cancelar": -1.2, "cancelado": -1.2, "cancelada": -1.2,
    "cancelamento": -1.2, "devolver": -1.5, "devolucao": -1.5, "reembolso": -1.3,
    "estorno": -1.3, "infelizmente": -1.8, "pior": -2.8, "mal": -1.6, "mau": -2.0,
    "fraco": -1.8, "fraca": -1.8, "fragil": -1.2, "caro": -1.2, "irritado": -2.4,
    "irritada": -2.4, "chateado": -2.2, "chateada": -2.2, "triste": -2.2, "raiva": -2.8,
    "odiei": -3.2, "detestei": -3.0, "lamentavel": -2.8, "inaceitavel": -3.0,
    "descontente": -2.3, "prejuizo": -2.4, "transtorno": -2.2, "porcaria": -3.0,
    "duvidoso": -1.2, "incompleto": -1.8, "incompleta": -1.8, "diferente": -0.8,
    "aguardando": -1.2, "esperando": -1.0, "aguardo": -1.0, "sumiu": -2.0,
    "extraviado": -2.5, "extraviada": -2.5, "desisto": -2.2, "nunca": -0.8,
    "ninguem": -1.0, "sequer": -1.0, "pessimamente": -3.2, "horrorosa": -3.0,
    "horroroso": -3.0, "decepcionou": -2.6, "arrependido": -2.4, "arrependida": -2.4,
    "manchado": -1.8, "manchada": -1.8, "vazando": -1.8, "trincado": -2.0,
    "trincada": -2.0, "piorou": -2.2, "regular": -0.4, "razoavel": 0.3, "pessimoo": -3.4,
    "ainda": -0.3, "porem": -0.3, "contudo": -0.3, "indignado": -2.6, "indignada": -2.6,
    "cade": -1.8, "troca": -1.0, "trocar": -1.0, "pena": -1.2, "espero": -0.5,
    "reclamei": -1.8, "inadequada": -1.8, "inadequado": -1.8, "inferior": -1.8,
    "replica": -1.5, "elevado": -1.0, "elevados": -1.0, "salgado": -1.0,
}  # fmt: skip
# Phrases are scored as one token: they mean more (or other) than their words.
PHRASES = {
    "nao recebi": -2.8, "nao recebemos": -2.8, "nao chegou": -2.6, "nao veio": -2.2,
    "nao funciona": -2.6, "nao funcionou": -2.6, "nao entregue": -2.6, "nao entregaram": -2.6,
    "nao foi entregue": -2.8, "nao recomendo": -2.8, "nao gostei": -2.4,
    "ate agora": -1.0, "ate o momento": -1.0, "ate hoje": -1.0, "antes do prazo": 2.5,
    "dentro do prazo": 2.0, "no prazo": 1.8, "fora do prazo": -2.2, "apos o prazo": -2.0,
    "depois do prazo": -2.0, "prazo vencido": -2.2, "vale a pena": 2.0, "nao vale": -2.0,
    "mais ou menos": -0.6, "deixou a desejar": -2.4, "deixa a desejar": -2.4,
    "muito bem": 2.4, "tudo certo": 2.0, "tudo ok": 1.8, "conforme descrito": 1.6,
    "conforme anunciado": 1.6, "conforme o anunciado": 1.6, "bem embalado": 2.0,
    "bem embalada": 2.0, "produto errado": -2.4, "veio errado": -2.4, "nao e o": -1.2,
    "so veio": -1.6, "apenas um": -0.6, "nenhuma resposta": -2.4, "sem resposta": -2.4,
    "nao responde": -2.4, "nao respondem": -2.4, "nao tive resposta": -2.4,
    "estou aguardando": -1.6, "ainda nao": -1.8, "nem sinal": -2.2, "nota 10": 2.5,
    "nota dez": 2.5, "nota maxima": 2.2, "voltarei a comprar": 2.2, "comprarei novamente": 2.2,
    "compro sempre": 1.5, "nos conformes": 1.8, "alem das expectativas": 2.6,
    "acima das expectativas": 2.6, "baixa qualidade": -2.4, "ma qualidade": -2.4,
    "so recebi": -1.6, "recebi somente": -1.6, "recebi apenas": -1.6, "veio so": -1.6,
    "veio somente": -1.6, "veio apenas": -1.6, "nao obtive": -1.8, "nao tive retorno": -2.2,
    "nao foi o esperado": -2.0, "nao e o que": -1.6, "pena que": -1.4, "sem medo": 1.5,
    "continue assim": 2.0, "nenhum retorno": -2.2, "sem retorno": -2.2,
    "nenhuma satisfacao": -2.4, "nao entrou em contato": -2.2, "nao responderam": -2.4,
    "nao enviou": -2.4, "nao enviaram": -2.4, "nao entregou": -2.6, "nao corresponde": -2.2,
}  # fmt: skip
NEGATORS = frozenset(
    "nao nem nunca jamais sem nenhum nenhuma nada tampouco naum n".split()
)
INTENSIFIERS = {
    "muito": 0.293, "muita": 0.293, "mto": 0.293, "mt": 0.293, "super": 0.293,
    "extremamente": 0.293, "totalmente": 0.293, "bastante": 0.293, "demais": 0.293,
    "tao": 0.293, "completamente": 0.293, "absolutamente": 0.293, "realmente": 0.2,
    "pouco": -0.293, "meio": -0.293, "quase": -0.2,
}  # fmt: skip
CONTRAST = frozenset({"mas", "porem", "entretanto", "contudo", "todavia"})

LEXICON = {**POSITIVE, **NEGATIVE}
_N_SCALAR = -0.74  # as VADER: a negated word keeps about three quarters of its strength
_ALPHA = 15.0  # VADER's normalisation constant
_TOKEN = re.compile(r"[a-z0-9]+|!")
_MAX_PHRASE = max(len(p.split()) for p in PHRASES)


def fold(text: str) -> str:
    """Lower case without accents: 'Não é péssimo' -> 'nao e pessimo'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _tokens(folded: str) -> list[str]:
    words = _TOKEN.findall(folded)
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(_MAX_PHRASE, 1, -1):
            phrase = " ".join(words[i : i + n])
            if phrase in PHRASES:
                out.append(phrase)
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return out


def compound(text: str) -> float:
    """The text's score in [-1, 1] (0 when no word of the lexicon occurs)."""
    tokens = _tokens(fold(text))
    exclaim = min(tokens.count("!"), 4)
    tokens = [t for t in tokens if t != "!"]
    valences: list[float] = []
    for i, tok in enumerate(tokens):
        v = PHRASES.get(tok, LEXICON.get(tok, 0.0))
        if v == 0.0 or (tok in INTENSIFIERS and i + 1 < len(tokens)
                        and tokens[i + 1] in LEXICON):
            valences.append(0.0)
            continue
        for back in (1, 2, 3):  # intensifiers and negators shortly before the word
            if i - back < 0:
                break
            prev = tokens[i - back]
            if prev in INTENSIFIERS and back <= 2:
                boost = INTENSIFIERS[prev] * (1.0 if back == 1 else 0.95)
                v += math.copysign(boost, v)
            if prev in NEGATORS and " " not in tok:
                v *= _N_SCALAR
                break
        valences.append(v)
    for i, tok in enumerate(tokens):  # the clause after "mas" counts more
        if tok in CONTRAST:
            valences = [v * 0.5 for v in valences[:i]] + [v * 1.5 for v in valences[i:]]
            break
    total = sum(valences)
    if total == 0.0:
        return 0.0
    total += math.copysign(0.292 * exclaim, total)
    return max(-1.0, min(1.0, total / math.sqrt(total * total + _ALPHA)))


# Short, frequent function words of each language: enough to tell Portuguese from English.
_PT_WORDS = frozenset(
    "nao de que do da em um uma para com muito mas foi por os as no na e esta meu minha "
    "chegou recebi produto entrega pedido prazo ainda bem ate voces loja comprei ja so tudo "
    "sem nem".split()
)
_EN_WORDS = frozenset(
    "the and to i you my is it for of on this that not was with have me your can be are "
    "just get at from will what how why please thanks thank no".split()
)
_PT_LETTERS = re.compile("[ãõçáéíóúâêô]")


# Lexicon words that are also English words are no evidence of Portuguese.
_PT_EVIDENCE = frozenset(LEXICON) - frozenset(
    "top show ok super legal ideal regular pior mal nota pena massa vale antes".split()
)


_PT_ANY = _PT_WORDS | _PT_EVIDENCE


def looks_portuguese(text: str) -> bool:
    """True when Portuguese function words, lexicon words or letters outnumber English words.

    Runs on every text scored, English included, so it avoids the costly steps where it can:
    ASCII text needs no accent folding, and phrases are looked for only in a text with no
    English word ("nota 10")."""
    low = text.lower()
    ascii_only = low.isascii()
    words = _TOKEN.findall(low if ascii_only else fold(low))
    pt = sum(1 for w in words if w in _PT_ANY)
    if not ascii_only:
        pt += 2 * len(_PT_LETTERS.findall(low))
    en = sum(1 for w in words if w in _EN_WORDS)
    if pt == 0 and en == 0:
        pt = sum(1 for t in _tokens(" ".join(words)) if t in PHRASES)
    return pt > en
