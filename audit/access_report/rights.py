"""The rights the report describes (art. 10 lid 4: "een omschrijving van de rechten").

Fixed Dutch texts: correction, erasure, objection, restriction and portability (art. 11-15), the
complaint to the Autoriteit Persoonsgegevens, and the period within which a request is answered.
The same on every report, its JSON form, the portal and the letters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Right:
    code: str
    title: str
    article: str
    description: str


RIGHTS: tuple[Right, ...] = (
    Right(
        "correction",
        "Correctie",
        "artikel 11",
        "Kloppen gegevens niet, zijn ze onvolledig of horen ze er niet bij? Dan kunt u vragen ze te "
        "verbeteren, aan te vullen, te verwijderen of af te schermen. Zet in uw verzoek wat er moet "
        "veranderen. Wordt een gegeven aangepast, dan geven wij dat zo snel mogelijk door aan de "
        "organisaties die het eerder kregen.",
    ),
    Right(
        "erasure",
        "Verwijdering",
        "artikel 12",
        "U kunt vragen uw gegevens te wissen, bijvoorbeeld als ze niet meer nodig zijn, als u uw "
        "toestemming intrekt of als ze onrechtmatig zijn gebruikt. Soms mag een organisatie gegevens "
        "toch bewaren, bijvoorbeeld omdat de wet dat verplicht.",
    ),
    Right(
        "objection",
        "Bezwaar",
        "artikel 13",
        "Vanwege uw persoonlijke situatie kunt u bezwaar maken tegen het gebruik van uw gegevens. De "
        "organisatie weegt uw belangen af, en ook die van de kinderen in uw gezin. Wijst zij uw "
        "bezwaar af, dan hoort u schriftelijk waarom.",
    ),
    Right(
        "restriction",
        "Beperking",
        "artikel 14",
        "U kunt vragen het gebruik van uw gegevens te beperken, bijvoorbeeld zolang wordt nagegaan of "
        "ze kloppen of zolang uw bezwaar wordt beoordeeld. De gegevens worden dan alleen bewaard en "
        "niet gedeeld, behalve in uitzonderlijke gevallen die de regels noemen. U hoort het vooraf als "
        "de beperking stopt.",
    ),
    Right(
        "portability",
        "Overdraagbaarheid",
        "artikel 15",
        "U kunt de gegevens die u zelf aan een organisatie gaf in een gestructureerde, gangbare en "
        "machineleesbare vorm krijgen en aan een ander doorgeven. Dit overzicht is daarom ook "
        "beschikbaar als gestructureerd bestand (JSON).",
    ),
    Right(
        "complaint",
        "Klacht bij de Autoriteit Persoonsgegevens",
        "artikel 10 lid 4",
        "Bent u het niet eens met hoe met uw gegevens is omgegaan? Dan kunt u een klacht indienen bij "
        "de Autoriteit Persoonsgegevens, de toezichthouder voor privacy in Nederland "
        "(www.autoriteitpersoonsgegevens.nl).",
    ),
)

RESPONSE_PERIOD = "P1M"
RESPONSE_PERIOD_TEXT = (
    "Op een verzoek krijgt u binnen één maand na ontvangst schriftelijk antwoord "
    "(artikel 10 lid 3, artikel 11 lid 3 en artikel 13 lid 2)."
)
