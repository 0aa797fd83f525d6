"""The little grammar the classifier needs per language: function words, fillers, head side.

A description is a noun phrase. Its **main clause** runs from its first content word to the
next preposition ("Steam *from flue gas*", "Boues *de station d'épuration*"). Its **head**, the
word saying what the thing is, is the last noun of the main clause in English, German, Dutch,
Danish, Swedish and Chinese ("FGD gypsum", "Sattdampf", "余热蒸汽") and the first in French,
Spanish, Italian and Polish ("cendres volantes", "vapor de baja presión", "popiół lotny").

Fillers ("surplus", "excedente", "Überschuss") say how much, not what: they are skipped, so
"excedente de vapor" is steam. Words here are folded (no accents), as the text is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from domain.classify.text import fold

HEAD_FIRST: Final[frozenset[str]] = frozenset({"fr", "es", "it", "pl"})
"""Languages whose noun phrases put the head first."""

COMPOUNDING: Final[frozenset[str]] = frozenset({"de", "nl", "da", "sv"})
"""Languages that write compounds as one word (Sattdampf, afvalwater, spildevand, flygaska)."""


def _folded(table: Mapping[str, str]) -> dict[str, frozenset[str]]:
    return {lang: frozenset(fold(text).split()) for lang, text in table.items()}


PREPOSITIONS: Final = _folded(
    {
        "en": "from of for with in by to at after via on ex through",
        "de": "aus von vom für mit in im bei beim zur zum nach ab auf an unter über durch",
        "nl": "van uit voor met in bij na op aan door naar",
        "da": "fra af til med i ved efter på",
        "sv": "från av för med i vid efter till på ur",
        "fr": "de du des d pour avec en par à au aux après issu issus issue issues provenant sur "
        "sous chez",
        "es": "de del para con en por a al tras procedente procedentes sobre bajo desde",
        "it": "di da d del della dello dei degli delle dal dalla dall dell per con in a al allo su "
        "sul sulla",
        "pl": "z ze od do dla w we na przy po pod nad przez",
        "zh": "",
    }
)
"""Words that end the main clause (a preposition as the text's first word does not)."""

FUNCTION_WORDS: Final = _folded(
    {
        "en": "a an and or the as other than those that not no only such its their per approx "
        "ca total containing contain substance hazardous dangerous waste wastes including "
        "include except example which have has them mentioned otherwise specified site off use "
        "used",
        "de": "der die das den dem des ein eine einer und oder als nicht kein keine ca etwa "
        "gesamt je",
        "nl": "de het een en of als niet geen ca totaal per",
        "da": "en et og eller som ikke den det de ca samlet pr",
        "sv": "en ett och eller som inte den det de ca totalt per",
        "fr": "le la les l un une et ou que qui non ne pas env environ total par",
        "es": "el la los las un una y o que no ni aprox total por",
        "it": "il lo la i gli le l un una e o che non ca circa totale",
        "pl": "i oraz lub albo nie ok okolo razem",
        "zh": "",
    }
)

EMPTY: Final = _folded(
    {
        "en": "empty emptied",
        "de": "leer leere leeren leerer entleert entleerte",
        "nl": "leeg lege geleegd geleegde",
        "da": "tom tomme tomt tomte",
        "sv": "tom tomma tomt tomd tomda",
        "fr": "vide vides",
        "es": "vacio vacios vacia vacias vaciado vaciados",
        "it": "vuoto vuoti vuota vuote svuotato svuotati",
        "pl": "pusty puste pusta pustych oprozniony oproznione",
        "zh": "",
    }
)
"""Words saying a container is empty (*leere Fässer*, *puste beczki*): fillers, and beside
packaging and a chemical they say the packaging held it (*Lege IBC's fosforzuur*). Not French
*vidange*, which names a used oil (*huiles de vidange*), nor Dutch *leer* (leather)."""

FILLERS: Final = {
    lang: words | EMPTY[lang]
    for lang, words in _folded(
        {
            "en": "by product byproduct coproduct surplus excess spare available export "
            "overflow extra residual leftover approx warehouse dept building bldg hall "
            "storeroom return daily weekly monthly yearly annually hourly degrees",
            "de": "nebenprodukt nebenprodukte koppelprodukt uberschuss uberschussig verfugbar "
            "rest abteilung halle gebaude rucklauf täglich wöchentlich monatlich jährlich grad",
            "nl": "bijproduct restproduct overschot beschikbaar rest afdeling magazijn hal retour "
            "dagelijks wekelijks maandelijks jaarlijks graden",
            "da": "biprodukt restprodukt overskud overskydende tilgaengelig afdeling bygning hal "
            "retur dagligt ugentligt månedligt årligt grader",
            "sv": "biprodukt restprodukt overskott tillganglig avdelning byggnad hall retur "
            "dagligen veckovis månadsvis årligen grader",
            "fr": "sous produit coproduit surplus excedent exces excedentaire disponible "
            "entrepot magasin hall retour quotidiennement hebdomadaire mensuellement "
            "annuellement degres",
            "es": "subproducto subproductos excedente excedentes exceso sobrante disponible "
            "almacen edificio departamento haz retorno sala salas diariamente semanalmente "
            "mensualmente anualmente grados",
            "it": "sottoprodotto sottoprodotti eccesso eccedenza eccedente surplus disponibile "
            "magazzino capannone edificio conferimento conferimenti conferito ritorno sala "
            "giornalmente settimanalmente mensilmente annualmente gradi",
            "pl": "produkt uboczny nadwyzka nadmiar dostepny dostepna magazyn wydzial hala "
            "budynek powrot dziennie tygodniowo miesięcznie rocznie stopni",
            "zh": "",
        }
    ).items()
}
"""Words that say how much, how often, whether or where in the plant (a warehouse, a hall, a
department, a room), whether a container is empty (:data:`EMPTY`), whether a flow returns
(*Retour condensats*, *Kylvattenretur*), never what: no clause starts with one (a term may:
*empty aerosol cans*), and known words of their language (a Spanish *almacén* is not corrected
to the olive mill *almazara*; a Spanish *haz*, a bundle, is not the English abbreviation of
hazardous; *collected daily* is no dairy's)."""

PLACES: Final = _folded(
    {
        "en": "warehouse workshop store stores storeroom yard depot hall building dept "
        "department bay area centre center",
        "de": "lager werkstatt halle gebäude abteilung bauhof hof bereich",
        "nl": "magazijn werkplaats opslag hal afdeling gebouw terrein",
        "da": "lager værksted hal afdeling bygning plads",
        "sv": "lager verkstad hall avdelning byggnad förråd",
        "fr": "entrepôt magasin atelier dépôt hall bâtiment service zone centre",
        "es": "almacén taller nave edificio departamento patio zona centro",
        "it": "magazzino officina deposito capannone edificio reparto area centro",
        "pl": "magazyn warsztat hala budynek wydział plac centrum",
        "zh": "",
    }
)
"""Words naming a place in a plant (a warehouse, a workshop, a hall): before a spaced dash
with no resource term, a place the row comes from, not what it is (*Almacén central - palets
rotos*; a compounding language's compound ending in one too, *Slipverkstad*, *Zentrallager*)."""

SURPLUS_HEADS: Final = _folded(
    {
        "en": "",
        "de": "uberschuss nebenprodukt koppelprodukt rucklauf",
        "nl": "overschot bijproduct restproduct retour",
        "da": "overskud biprodukt restprodukt retur",
        "sv": "overskott biprodukt restprodukt retur",
        "fr": "",
        "es": "",
        "it": "",
        "pl": "",
        "zh": "",
    }
)
"""Fillers that end a compound whose first part names the resource (*Dampfüberschuss*,
*stoomoverschot*, *Kalknebenprodukt*; a return flow, *Kondensatrücklauf*, *Kylvattenretur*):
the compound is split there, so its first part is read. Not the fillers of place
(*Lackabteilung* is a paint shop, not paint)."""

SHORT_HEADS: Final = frozenset({"gas"})
"""Heads shorter than four letters a compound may end in: *gas* names its resource in every
compounding language (*Restgas*, *Kokereigas*, *stortgas*, *røggas*), and few other words end
in it. Not *ånga*'s stem *ang* (Swedish *ingång*) nor Danish *ilt* (*vejskilt*)."""

NOT_BEFORE_SHORT_HEAD: Final = frozenset("ga")
"""Letters a short head does not follow: Swedish and Danish passives and genitives end in
*-ggas*, *-agas* (*läggas* is *lägga* + *s*, *upplagas* *upplaga* + *s*)."""

MACHINES: Final = _folded(
    {
        "de": "maschine maschinen ofen trockner presse spritzguss extruder mühle kompressor",
        "nl": "machine oven droger pers extruder molen compressor",
        "da": "maskine tørrer presse ekstruder mølle kompressor",
        "sv": "maskin tork press extruder kvarn kompressor",
    }
)
"""Machines a compounding language names by what they make or work (*Papier|maschine*,
*Glas|ofen*, *Kunststoff|spritzguss*, *pappers|maskin*, *papier|machine*): such a compound is
the machine, not its material, so a heat, steam, water or gas named beside it is the resource
(*Abwärme Papiermaschine*, *Kühlwasser Glasofen*); nor is a utility it is named by the resource
(*Dampf|maschine*, a steam engine). A compound is only split at a known last part, so a word no
text knows here changes nothing. Not a plant (*Kühlwasser|anlage* is the cooling water
system's water)."""

EQUIPMENT: Final = _folded(
    {
        "en": "exchanger exchangers pump pumps hose hoses trap traps valve valves softener "
        "softeners dewar dewars fan fans motor motors compressor compressors heater heaters "
        "cooler coolers chiller chillers radiator radiators tube tubes coil coils",
    }
)
"""Equipment English names after the utility it works (*heat exchanger*, *cooling water pump*,
*steam trap*, *water softener*, *nitrogen dewar*): when every content word of the main clause
after the utility is one, the text names the equipment (scrap, a spare, a defect), no utility
offered (*Heat pump output 400 kW* goes on with its output, *Cooling water through plate heat
exchanger* with a route; a unit of energy or flow still decides for the utility). Not a meter,
which is also a unit written out (*500 cubic meters*)."""


def _marked(table: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Folded entries of a word table, whose marks say how a word holds them.

    ``word`` whole, ``word*`` at its start, ``*word`` at a compound's end (and whole),
    ``~word`` at a compound's end only.
    """
    return {lang: tuple(fold(text).split()) for lang, text in table.items()}


MAKING: Final = _marked(
    {
        "en": "production* manufactur* synthesis making factory factories plant plants "
        "crystallisation crystallization prod mfg fab unit units",
        "de": "*produktion* herstellung* fertigung* *synthese *fabrik fabriken betrieb "
        "kristallisation prod herst *anlage",
        "fr": "production* fabrication* synthese* usine usines cristallisation prod fab unite "
        "unites",
        "es": "produccion* fabricacion* sintesis fabrica fabricas planta plantas cristalizacion "
        "prod fab unidad",
        "it": "produzion* fabbricazion* sintesi fabbrica fabbriche stabilimento stabilimenti "
        "impianto impianti cristallizzazione prod",
        "pl": "produkc* wytwornia wytworni wytwornie fabryka fabryki fabryce fabryk zaklad "
        "zakladu zakladzie wydzial wydzialu wydziale krystalizacja krystalizacji prod zakl wydz "
        "instalacja instalacji",
        "nl": "*productie* *fabricage* synthese *fabriek fabrieken kristallisatie prod installatie",
        "da": "*produktion* *fremstilling* syntese *fabrik fabrikken fabrikker fabrikkens "
        "krystallisation prod ~anlæg",
        "sv": "*produktion* *tillverkning* *framstallning* syntes *fabrik fabriken fabriker "
        "fabrikens kristallisation prod tillv ~anläggning",
    }
)
"""Words naming making or the factory that makes (marks as :func:`_marked`): with a material
beside them, the origin that material's making is (*fremstilling af PVC*, *Filter cake from
PVC production*, *wytwórni tworzyw sztucznych*: 07 02; a plant's department named by its
product, *wydział pestycydów*: 07 04; the crystallisation that makes it, *Moderlut från
kristallisation av bekämpningsmedel*), and their abbreviations in registers (*prod.*, *fab.*,
*zakł.*; not Italian *stab.*, as often *stabilizzato*). Read in the text's language and in
English. Not a word that also names a place's repair (*Wieder|herstellung*) nor a waste's
generation (Polish *wytwarzanie odpadów*, a register's field)."""

MADE_HERE: Final = _marked(
    {
        "en": "production* manufactur* reject rejects rejected",
        "de": "*produktion* herstellung* fertigung* ausschuss* *ausschuss fehlprodukt* ~fabrik",
        "fr": "production* fabrication* synthese* rebut rebuts",
        "es": "produccion* fabricacion* sintesis rechazo rechazos rechazado rechazados "
        "rechazada rechazadas",
        "it": "produzion* fabbricazion* sintesi",
        "pl": "produkc* braki wybrakowane wybrakowany wybrakowana",
        "nl": "*productie* fabricage* synthese afgekeurd afgekeurde uitval ~fabriek",
        "da": "*produktion* fremstilling* syntese afvist afviste kassation ~fabrik",
        "sv": "*produktion* tillverkning* *framstallning* syntes kassation kassationer ~fabrik",
    }
)
"""Words saying the waste was made where it arises (marks as :func:`_marked`, and ``~word`` at
a compound's end only): making (as :data:`MAKING`), a plant's rejects (*production rejects*,
*Produktionsabfälle*, *rebuts de fabrication*, *rechazo línea*, *braki produkcyjne*,
*afgekeurde*) and a compound naming the factory by what it makes (*Glaswol isolatiefabriek*).
Not a bare factory (*usine*, *Fabrik*: the buyer's or the place as often: *Calcin,
destinataire : usine Saint-Gobain*) nor a word for throwing away (Swedish *kasserad*, Danish
*kasseret*: any discarded thing). A material the List files both where it is made and where
it is used up (*cullet* 10 11 12 or 19 12 05, *rock wool* 10 11 03 or 17 06 04, *tiles* 10 12
08 or 17 01 03) is then the maker's, unless the text names a rebuilding (:data:`REBUILDING`)."""

DELIVERIES: Final = _marked(
    {
        "en": "delivery deliveries delivered goods-in goodsin inbound incoming",
        "de": "lieferung* anlieferung* wareneingang* *lieferung",
        "fr": "livraison*",
        "es": "entrega entregas mercancia mercancias",
        "it": "consegna consegne",
        "pl": "dostaw* dostawy",
        "nl": "levering* leveranties ontvangst",
        "da": "levering* varemodtagelse* *levering",
        "sv": "leverans* varumottagning* *leverans* *leveranser inleverans*",
    }
)
"""Words saying what came in with goods delivered (marks as :func:`_marked`): a material named
with one is their packaging (*cardboard boxes from incoming deliveries*, *Wellpapp från
leveranser, butik*, *Karton en papier van leveringen*: 15 01, not a shop's municipal 20 01).
Not a reception (*réception*, *recepción*, *ricevimento*): a civic amenity site's too."""
DELIVERIES_HAN: Final = ("来料", "进货", "收货", "到货")
"""Chinese words of :data:`DELIVERIES` inside a longer run."""

RECEIVERS: Final = _folded(
    {
        "en": "customer consignee receiver recipient buyer",
        "de": "abnehmer empfanger kunde",
        "fr": "destinataire client",
        "es": "destinatario cliente",
        "it": "destinatario cliente",
        "pl": "odbiorca odbiorcy klient",
        "nl": "afnemer ontvanger klant",
        "da": "aftager modtager kunde",
        "sv": "mottagare kund",
    }
)
"""Words heading a register's receiver field (*customer:*, *Abnehmer:*, *odbiorca:*): an origin
or a making named within three words after one is where the waste goes (*Klärschlamm ...,
Abnehmer: Zementwerk* stays 19 08 05; *Sewage sludge, customer: PVC factory*)."""
FILLING: Final = _folded(
    {
        "en": "filling bottling",
        "de": "abfullung abfullanlage abfullerei",
        "fr": "embouteillage remplissage",
        "es": "embotellado envasado llenado",
        "it": "imbottigliamento riempimento",
        "pl": "rozlewnia rozlewni napelnianie",
        "nl": "afvulling afvullen bottelarij",
        "da": "aftapning tapperi",
        "sv": "tappning tapperi",
    }
)
"""Words for filling containers (*Glasscherben, Flaschen, Ausschuss Abfüllung*): rejects there
are the containers filled, what the text tells apart (15 01 07), not their maker's."""

REBUILDING: Final = _folded(
    {
        "en": "renovation renovations refurbishment refurb refit stripout strip-out demolition "
        "demolished dismantling retrofit reroofing resurfacing",
        "de": "umbau umbauten renovierung sanierung abriss ruckbau abbruch modernisierung",
        "fr": "renovation demolition rehabilitation deconstruction",
        "es": "reforma reformas demolicion rehabilitacion desmontaje desmantelamiento",
        "it": "ristrutturazione demolizione rifacimento smantellamento",
        "pl": "remont remontu remoncie rozbiorka rozbiorki wyburzenie",
        "nl": "renovatie sloop verbouwing",
        "da": "renovering nedrivning ombygning",
        "sv": "renovering rivning ombyggnad takbyte",
    }
)
"""Words naming a building's repair or demolition: a material said made where it arises beside
one was built in and taken out (*Gipskartonplatten aus Umbau der Produktionshalle*, *Tegels uit
renovatie fabriekshal*): no maker's (:func:`~domain.classify.engine._made_here`)."""
REBUILDING_HAN: Final = ("改造", "装修", "拆除", "翻新")
"""Chinese words of :data:`REBUILDING` inside a longer run."""
MADE_HERE_HAN: Final = ("生产", "次品", "不合格", "残次")
"""Chinese words of :data:`MADE_HERE` inside a longer run: production, rejects, substandard,
defective (not a workshop or a factory, 车间, 工厂: places as often)."""

CAST_ALLOYS: Final = _folded(
    {
        "en": "brass bronze gunmetal",
        "de": "messing bronze rotguss",
        "nl": "messing brons",
        "da": "messing bronze",
        "sv": "massing brons",
        "fr": "laiton bronze",
        "es": "laton bronce",
        "it": "ottone bronzo",
        "pl": "mosiadz braz",
        "zh": "",
    }
)
"""Copper alloys that are cast, not smelted: beside a word meaning both foundry and smelter
(*fonderie*, *fundición*, *fonderia*), a brass or bronze works is a foundry (10 10)."""

PLAIN_WORDS: Final = _folded(
    {
        "en": "flash fitter fitters broiler broilers filleting wafer wafers stem stems skimmed",
        "de": "wafer mischkessel ruhrkessel reaktionskessel schalter verpackt eingepackt abgepackt "
        "tankwagen saugwagen selbsterhitzend "
        "selbsterhitzungsfahig fabrik fabriken versand stapler gabelstapler",
        "nl": "stomerij stomerijen verpakt ingepakt loods loodsen tankwagen tankwagens "
        "zelfverhittend",
        "da": "selvopvarmende fabrik fabrikken fabrikker styretavle styretavler styretavlen",
        "sv": "rengjord rengjorda rengjort trasig trasiga trasigt sjalvuppvarmande fabrik "
        "fabriken fabriker",
        "fr": "fils lingot lingots salage saint sainte chants",
        "es": "tejido tejidos",
        "it": "cava cave conferiti conferito composto composta composti composte plastificato "
        "plastificata plastificati plastificate argento",
        "pl": "rozbior rozbioru",
        "zh": "",
    }
)
"""Words of a language that name no material, one edit from a word that does: known words of their
language, so never corrected to it (*flash* is no *flesh*, from *fleshings*; a *Schalter* no
*Schale*; French *salage*, salting, no *sablage*; Swedish *trasig*, broken, whose stem is that
of *trasa*, a rag; a window *fitter* no *filter*, a *broiler* no *boiler*, *filleting* no
*filler*, a tobacco *stem* no *steam*; a sludge *skimmed* off no dross *skimmings*; a Danish
*styretavle*, a control panel, no *styren*; a *Fabrik*, a factory, no English *fabric*; the
*Saint* of a company's name no *suint*; Polish *rozbiór*, a carcass's cutting, no *rozbiórka*,
demolition; Spanish *tejidos*, tissues, no *tejas*; Italian *conferiti*, delivered to a site, no
*conceria*; Italian *composto*, compound, as in *mangime composto*, compound feed, is no
*compost*; *plastificato*, plasticised, no *pastificio*; *argento*, silver, no *agente*; French
*chants*, edge bands, no *chantier*); or whose stem is a material's (German *verpackt*, Dutch
*verpakt*, packed, are not packaging: *Asbestreste staubdicht verpackt*; Dutch *loods*, a shed,
is no *lood*, lead; a *Tankwagen*, the truck a waste leaves in, is no *Tanklager*;
*selvopvarmende*, self-heating, a hazard of the material, offers no *varme*; Italian *cava*, a
quarry, whose stem is that of *cavi*, cables)."""

CODE_LABELS: Final = frozenset(
    fold(
        "ewc eer cer ced avv ler eak eural abfallschlüssel abfallschluessel avfallskod afvalcode "
        "euralcode"
    ).split()
)
"""The names of the List of Waste's codes in its languages (EWC, CER, AVV, LER, EAK, Eural...),
written before a code: no content, no term ("CER" is no Italian *cera*). Not a bare *code*:
"colour code red" says nothing of a list."""

UNIT_WORDS: Final[frozenset[str]] = frozenset(
    [
        "t",
        "h",
        "d",
        "a",
        "y",
        "yr",
        "kg",
        "g",
        "m3",
        "m",
        "nm3",
        "knm3",
        "mnm3",
        "sm3",
        "scm",
        "scf",
        "mscf",
        "mmscf",
        "l",
        "hl",
        "mw",
        "kw",
        "gw",
        "mwh",
        "kwh",
        "gwh",
        "gj",
        "mj",
        "tj",
        "gcal",
        "mwth",
        "bar",
        "barg",
        "bara",
        "mpa",
        "kpa",
        "psi",
        "psig",
        "deg",
        "c",
        "f",
        "k",
        "pct",
        "ppm",
        "month",
        "mo",
        "week",
        "wk",
        "day",
        "jahr",
        "an",
        "ano",
        "anno",
        "rok",
        "ar",
        "h1",
        "s",
        "min",
        "stk",
        "stck",
        "uds",
        "szt",
        "sztuk",
        "stuks",
    ]
)
"""Unit words that appear inside descriptions ("12 bar", "40 kNm3/h"), counts too (*18 uds*,
*6 stk*, *4 szt*; not *pc*, *pcs*, *pz*: polycarbonate and personal computers too); never a
head."""

DESTINATIONS: Final = _folded(
    {
        "en": "to for",
        "de": "zur zum fur nach",
        "nl": "naar voor",
        "da": "til",
        "sv": "till for",
        "fr": "pour vers expédié expédiée expédiés expédiées envoyé envoyée envoyés envoyées",
        "es": "para hacia enviado enviada enviados enviadas",
        "it": "per verso inviato inviata inviati inviate spedito spedita spediti spedite",
        "pl": "dla do",
        "zh": "",
    }
)
"""Prepositions that name where a thing goes ("fly ash *to cement works*"), and in the
Romance languages the participles of sending that take the place of one (*expédié en
cimenterie*, *enviado a cementera*): a source term after one says nothing about where the
thing comes from. Not a register's buyer field (*customer:*,
*destinataire :*): a clause break does not end a destination, so *Customer 55 - empty drums*
would lose its drums."""

DIRECTIONS: Final = _folded(
    {
        "en": "to into",
        "de": "zu zur zum nach in",
        "nl": "naar",
        "da": "til",
        "sv": "till",
        "fr": "à a au aux en vers",
        "es": "a al hacia",
        "it": "a al alla allo ai agli alle in presso",
        "pl": "do",
        "zh": "",
    }
)
"""Prepositions of direction: the one a sending participle of :data:`DESTINATIONS` takes
(*expédié en cimenterie*, *enviado a cementera*), which keeps naming where the thing goes;
any other (*envoyées par la papeterie*, *inviati dalla cartiera*) names where it came from."""

DESTINATION_STARTS_ZH: Final = (
    "外售", "售给", "售往", "销往", "外运", "运往", "运至", "送往", "送至", "送", "可供", "可用于",
    "用于", "交由",
)  # fmt: skip
"""Chinese words that begin where a thing goes, written together with it in one word
(*粉煤灰 外售水泥厂*: sold to a cement plant; *填埋气 可供发电*: available for power
generation): the word holding one and the words after it are a destination, as after
:data:`DESTINATIONS`, and end the main clause; not the text's first word, nor one holding 的
(*用于喷涂的废油漆桶*: paint buckets used for spraying), nor one of :data:`NO_DESTINATION_ZH`
(*送风机*). Not a bare 供 (*供热*, heat supply; *供给泵*, a feed pump)."""
NO_DESTINATION_ZH: Final = ("送风", "送料", "送货", "送检", "送样", "送水", "送粉", "送气", "送达")
"""Words beginning with 送 that name a thing, not where it goes (*送风机*, a blower; *送料机*,
a feeder; *送货托盘*, delivery pallets; *送检*, sent for testing)."""

ABSENT_BEFORE: Final = _folded(
    {
        "en": "no without",
        "de": "ohne kein keine keiner",
        "nl": "zonder geen",
        "da": "uden ingen intet",
        "sv": "utan ingen inget",
        "fr": "sans",
        "es": "sin",
        "it": "senza",
        "pl": "bez brak",
        "zh": "",
    }
)
"""Words that say the material named right after is absent ("no insulation", "sans amiante"):
it names no code and no hazard."""

ABSENT_OF: Final = _folded(
    {
        "en": "free",
        "de": "frei",
        "nl": "vrij",
        "da": "fri",
        "sv": "fri",
        "fr": "exempt exempts exempte exemptes",
        "es": "libre libres exento exenta exentos exentas",
        "it": "privo priva privi prive esente esenti",
        "pl": "wolny wolne wolna",
        "zh": "",
    }
)
"""The same with a preposition between ("free of oil", "frei von Öl", "exempt d'amiante"); right
before a material they say something else ("free oil" is oil)."""

ABSENT_AFTER: Final = _folded(
    {
        "en": "free none absent undetected",
        "de": "frei keine keiner",
        "nl": "vrij geen afwezig",
        "da": "fri ingen",
        "sv": "fri ingen inget",
        "fr": "absent absente absents absentes neant",
        "es": "ausente ausentes ninguno",
        "it": "assente assenti nessuno",
        "pl": "brak",
        "zh": "",
    }
)
"""Words that say the material named right before is absent when they end the text or a hyphen
joins them to it ("insulation, asbestos-free", "asbestos: none"; "free lime" is lime)."""

NEGATIONS: Final = _folded(
    {
        "en": "not",
        "de": "nicht",
        "nl": "niet",
        "da": "ikke",
        "sv": "inte ej icke",
        "fr": "non pas",
        "es": "no",
        "it": "non",
        "pl": "nie",
        "zh": "",
    }
)
"""The negation before a finding (:data:`FOUND`): "asbestos not detected"."""

FOUND: Final = _folded(
    {
        "en": "detected found detectable",
        "de": "nachweisbar nachgewiesen festgestellt",
        "nl": "aangetoond gedetecteerd aantoonbaar",
        "da": "pavist pavises",
        "sv": "pavisat pavisad detekterad",
        "fr": "detecte detectee detectes detectable",
        "es": "detectado detectada detectable",
        "it": "rilevato rilevata rilevabile",
        "pl": "wykryto wykryty wykryte",
        "zh": "",
    }
)
"""Words of a finding: after a material and a negation (:data:`NEGATIONS`) it is absent."""

CONTAINING: Final = _folded(
    {
        "en": "containing contains with w incl including contaminated impregnated soaked saturated",
        "de": "mit enthalt enthaltend inkl getrankt verunreinigt",
        "nl": "met bevattende bevat verontreinigd doordrenkt",
        "da": "med indeholdende indeholder forurenet gennemvaedet",
        "sv": "med innehallande innehaller fororenad fororenade indrankt indrankta",
        "fr": (
            "contient avec impregne impregnes impregnee impregnees souille souilles souillee "
            "souillees"
        ),
        "es": "con conteniendo contiene impregnado impregnados impregnada impregnadas",
        "it": "con contenente contenenti contiene impregnato impregnati sporco sporchi",
        "pl": "z zawierajacy zawierajace zawierajaca zawiera nasaczone nasaczony",
        "zh": "",
    }
)
"""Words that name the material right after them, or after a preposition, as a content
("degreasing bath containing oil", "Putzlappen mit Öl", "soaked in oil"): a hazardous oil or
solvent named so makes the waste hazardous. French *contenant* is a container, not here."""

RESIDUES: Final = _folded(
    {
        "en": "residue residues remnants remains leftovers",
        "de": "rest reste resten restanhaftung restanhaftungen anhaftungen restinhalt restinhalten",
        "nl": "rest resten restant restanten restjes",
        "da": "rest rester restindhold",
        "sv": "rest rester restinnehall",
        "fr": "residu residus reste restes",
        "es": "residuo residuos resto restos",
        "it": "residuo residui resto resti",
        "pl": "resztka resztki resztkami pozostalosc pozostalosci pozostalosciami",
        "zh": "",
    }
)
"""Words of what is left in a container ("drums with paint residues", "fusti con residui di
vernice", "Fässer mit Restanhaftungen von Lacken"): beside packaging, a chemical named in the
text (an acid, a paint, an oil, a solvent) makes the packaging 15 01 10*; leftovers of wood,
gypsum or glass do not."""

SOILED: Final = _folded(
    {
        "en": "contaminated soiled polluted contained",
        "de": (
            "verunreinigt verunreinigte verunreinigten verschmutzt verschmutzte verschmutzten "
            "kontaminiert kontaminierte kontaminierten enthielten enthielt"
        ),
        "nl": (
            "verontreinigd verontreinigde vervuild vervuilde gecontamineerd gecontamineerde bevatte"
        ),
        "da": "forurenet forurenede tilsmudset tilsmudsede kontamineret kontaminerede indeholdt",
        "sv": (
            "förorenad förorenade förorenat kontaminerad kontaminerade nedsmutsad nedsmutsade "
            "innehöll"
        ),
        "fr": (
            "souillé souillés souillée souillées contaminé contaminés contaminée contaminées "
            "pollué pollués polluée polluées contenaient contenait"
        ),
        "es": "contaminado contaminados contaminada contaminadas contenían contenía",
        "it": (
            "contaminato contaminati contaminata contaminate sporco sporchi sporca sporche "
            "contenevano conteneva"
        ),
        "pl": (
            "zanieczyszczony zanieczyszczone zanieczyszczona zanieczyszczonych skażony skażone "
            "skażona skażonych zawierały zawierała"
        ),
        "zh": "",
    }
)
"""Words saying a thing is soiled by what follows or comes before it, or held what follows
(*Bidons souillés d'acide nitrique*, *Kanister verunreinigt mit Salzsäure*, *drums, acid
contaminated*, *bidones que contenían disolvente*): beside packaging they say what it held, as
a word of residue does (:data:`RESIDUES`)."""

TANKERS: Final = frozenset(
    fold(
        "tankwagen tankwagens tankfahrzeug tankzug saugwagen saugfahrzeug tankauto tankautos "
        "zuigwagen zuigauto tankvogn tankvogne tankbil tankbiler tankbilar slamsuger vakuumbil "
        "slambil slamsugningsbil autobotte autobotti autocisterna autocisterne autospurgo "
        "cysterna cysterny autocysterna beczkowoz beczkowozem asenizacyjny "
        "asenizacyjnym hydrocureuse hydrocureur cuba cisterna cisternas tanker tankers "
        "tankered bowser tkw tankfahrzeugen vakuumfahrzeug vacuumwagen kolkenzuiger sugebil "
        "spolbil canaljet zuigwagens sugbil slamsugning"
    ).split()
)
"""Road vehicles that carry a liquid waste away (*Tankwagen*, *autobotte*, *vakuumbil*, the
Spanish *cuba*, the Polish *wóz asenizacyjny*), the same in every language: a spent water
(:data:`SPENT_WATER`) written with one is a liquid waste collected, not water offered to a
neighbour (water is piped; a clean water "by tanker if needed" stays water). Italian and French
*cisterna*, *citerne* alone are cisterns too (rain water): only with their vehicle
(:data:`TANKER_PAIRS`)."""
TANKER_PAIRS: Final = frozenset(
    tuple(fold(pair).split())
    for pair in (
        "tank truck", "tanker truck", "road tanker", "vacuum truck", "vac truck",
        "gully sucker", "gulley emptier", "sucker truck", "camion citerne", "camions citernes",
        "camion vidangeur", "camion cisterna", "camiones cisterna", "camion aspirador",
        "camion de succion", "canal jet",
    )
)  # fmt: skip
"""Two-word names of those vehicles (:data:`TANKERS`)."""
TANKERS_HAN: Final = ("槽车", "罐车", "吸污车")
"""Chinese tank and vacuum trucks (:data:`TANKERS`), found inside a longer word."""
DISPOSED: Final = frozenset(
    fold(
        "disposal dispose disposed entsorgung entsorgen entsorgt elimination eliminer "
        "eliminacion smaltimento smaltire smaltita smaltito unieszkodliwienia "
        "unieszkodliwienie utylizacji utylizacja bortskaffelse bortskaffes omhandertagande "
        "destruktion"
    ).split()
)
"""Words saying a thing is disposed of as a waste (*zur Entsorgung*, *for disposal*, *à
éliminer*, *til bortskaffelse*, *do unieszkodliwienia*): a spent water (:data:`SPENT_WATER`)
said to be so is a liquid waste, not water offered (it need not name its tanker). Not Dutch
*afvoer*, which also names a drain or a pipe."""
DISPOSED_HAN: Final = ("处置", "危废")
"""Chinese *disposal* (*委托处置*) and *hazardous waste* (:data:`DISPOSED`), inside a word."""

UNUSED: Final = frozenset(
    fold(
        "unused new unbenutzt ungebraucht neu neuf neuve neufs neuves inutilisé inutilisés "
        "nuevo nuevos nueva nuevas inutilizzato inutilizzati nuovo nuovi nieużywany "
        "nieużywane ongebruikt nieuw ubrugt ubrugte oanvänd oanvända"
    ).split()
)
"""Words saying a thing was never used (*Oil absorbent, unused*): an absorbent named for oil is
then no contaminated one."""

DRUMS: Final = frozenset(
    fold(
        "tromle tromler palletank palletanke dunk dunkar mauzer mauzery mauzerach grg tote "
        "totes carboy carboys jerricane jerricanes garrafa garrafas tanica taniche"
    ).split()
)
"""Containers a liquid waste is filled into that the lexicon does not list as packaging (Danish
drums and pallet tanks, the Polish *mauzer* and the Spanish *GRG*: IBCs): for the same rule as
:data:`TANKERS`."""
DRUMS_HAN: Final = ("吨桶", "铁桶", "塑料桶", "升桶", "桶装")
"""Chinese IBCs, steel and plastic drums, *in drums* (:data:`DRUMS`), inside a longer word."""

SPENT_WATER: Final = _folded(
    {
        "en": "wash washing washings rinse rinsing rinses cleaning contaminated polluted oily "
        "dirty bilge leachate spent mother waste wastewater glycol interceptor separator",
        "de": "wasch spul spuel reinigung abwasser schmutz verschmutzt belastet verunreinigt "
        "kontaminiert olhaltig sicker beiz mutterlauge presswasser glykol abscheider",
        "nl": "waswater spoel reiniging afvalwater verontreinigd vervuild oliehoudend percolaat "
        "afgewerkt moederloog glycol afscheider",
        "da": "vaskevand skyl rensevand rengoring spildevand forurenet beskidt olieholdig "
        "perkolat moderlud glykol udskiller",
        "sv": "tvatt skolj rengoring avlopp spillvatten fororenat fororenade smutsig oljehaltig "
        "oljefororenat lakvatten moderlut glykol avskiljare",
        "fr": "lavage rincage nettoyage usee usees polluee polluees contaminee contaminees "
        "souillee souillees chargee chargees huileuse huileuses lixiviat meres residuaires "
        "glycol separateur",
        "es": "lavado limpieza enjuague baldeo residual residuales contaminada contaminadas sucia "
        "sucias oleosa oleosas hidrocarburada lixiviado lixiviados madres glicol separador",
        "it": "lavaggio risciacquo pulizia reflue reflua contaminate contaminata inquinat esaust "
        "oleose oleosa sentina percolato madri glicole disoleatore separatore",
        "pl": "mycia myciu plukania popluczn zanieczyszczona zanieczyszczone zaolejona "
        "zaolejone brudna odciek scieki sciekow pomacierzyst glikol separator",
        "zh": "废水 清洗 冲洗 漂洗 洗涤 含油 污水 渗滤液 母液 乙二醇 隔油",
    }
)
"""Words saying a water is spent (wash, rinse, cleaning, waste or oily water, leachate, a
mother liquor, glycol water, an oil separator's water): the water a plant disposes of, not one
it offers. Matched as the beginning of
a word, and inside one in the compounding languages and Chinese (*Beizspülwasser*,
*tankrensevand*, *储罐清洗废水*)."""
TREATED_WATER: Final = _folded(
    {
        "en": "treated purified reclaimed clarified recycled recirculated reused reuse piped "
        "sewer potable irrigation suitable neighbour neighbor neutralised neutralized",
        "de": "gereinigt gereinigtes gereinigte geklart geklartes aufbereitet aufbereitetes "
        "aufbereitete behandelt behandeltes wiederverwendet wiederverwendung leitung "
        "rohrleitung kanal kanalisation kreislauf sauber sauberes geeignet bewasserung "
        "nachbarbetrieb neutralisiert neutralisiertes neutralisierte",
        "nl": "gezuiverd gezuiverde gereinigd gereinigde geklaard behandeld behandelde "
        "gerecycled hergebruik hergebruikt leiding pijpleiding riool kringloop schoon "
        "beregening buurbedrijf geneutraliseerd geneutraliseerde",
        "da": "renset rensede klaret behandlet genbrug genbruges genanvendt rorledning ledning "
        "kloak rent vanding egnet nabovirksomhed neutraliseret",
        "sv": "renat renad renade behandlat behandlade ateranvands ateranvant ateranvandning "
        "ledning rorledning avloppsnatet ren bevattning grannforetag neutraliserat "
        "neutraliserade",
        "fr": "traitee traitees epuree epurees clarifiee clarifiees recyclee recyclees "
        "reutilisee reutilisees reutilisation canalisation conduite egout propre propres "
        "potable irrigation voisin voisine neutralisee neutralisees",
        "es": "depurada depuradas tratada tratadas clarificada clarificadas regenerada "
        "regeneradas reciclada recicladas reutilizada reutilizadas reutilizacion reutiliza "
        "tuberia colector alcantarillado limpia limpias potable riego apta aptas vecina "
        "neutralizada neutralizadas",
        "it": "depurata depurate trattata trattate chiarificata chiarificate affinate "
        "riutilizzata riutilizzate riutilizzo riuso recuperate recuperata riciclate "
        "riciclata condotta tubazione fognatura pulita pulite potabile irrigazione idonea "
        "idonee neutralizzata neutralizzate",
        "pl": "oczyszczona oczyszczone oczyszczeniu sklarowana ponownie rurociag rurociagiem "
        "rurociagu kanalizacji kanalizacja obieg zawracana czysta pitnej nawadniania "
        "zneutralizowana zneutralizowane",
        "zh": "中水 处理后 再生水 回用 达标 管道送 管道输送 管道排 经管道 管网 回收利用 澄清 干净 "
        "灌溉 邻厂 饮用",
    }
)
"""Words saying a spent water was treated or goes on as water (*gereinigtes Abwasser*, *中水*,
*neutralised with caustic soda*, *reused*, *piped*, *Rohrleitung*, *to sewer*, *sauber*, *for
irrigation*, *to the neighbour*): a water offered again or sent through a pipe, whatever it was.
Not after a negation (*not treated*, *non traitées*). Not *traitement* (*traitement de surface*
is plating), *circuit* or *pipeline* (a circuit's or a pipeline's flushing water is a waste)."""
LINKING: Final = _folded(
    {
        "en": "of",
        "de": "von vom",
        "nl": "van",
        "da": "af",
        "sv": "av",
        "fr": "de d du des",
        "es": "de del",
        "it": "di del della dei degli delle",
        "pl": "po",
        "zh": "",
    }
)
"""Prepositions that tie a chemical to the word before it (*residues of paint*, *residui di
vernice*, *drums of caustic soda*, Polish *beczki po farbach*, drums that held paint): with
:data:`CONTAINING`, the only words that may stand
between them (*from*, *aus*, *ex* name an origin: *empty pallets from the acid store*)."""

BIODEGRADABLE: Final = (
    "biodegrad",
    "bioabbaubar",
    "abbaubar",
    "afbreekba",
    "bionedbryd",
    "nedbrydel",
    "nedbrytba",
    "hees",
    "hetg",
    "hepg",
    "hepr",
)
"""How folded words saying *biodegradable* begin, in every language (*biodegradable*,
*biodégradable*, *biodegradabile*, *biodegradowalny*, *biologisch abbaubar*, *biologisch
afbreekbaar*, *bionedbrydelig*, *biologiskt nedbrytbar*), and the classes of environmentally
acceptable hydraulic fluids of ISO 15380 (HEES, HETG, HEPG, HEPR: readily biodegradable by
definition): the List of Waste keeps readily biodegradable oils apart (12 01 19, 13 01 12,
13 02 07, 13 03 09)."""

CATALYST_METALS: Final = {
    "160801": frozenset(
        fold(
            "pd pt rh ru pdc ptrh palladium platinum rhodium iridium rhenium ruthenium silver "
            "platin silber platine argent paladio platino rodio plata palladio argento pallad "
            "palladu platyna platyny rodu srebro platina rodium zilver solv"
        ).split()
    )
    | frozenset("钯 铂 铑 铱 铼 钌 银"),
    "160802": frozenset(
        fold(
            "ni cr cu mo como nimo v2o5 nickel chromium chrome vanadium cobalt copper "
            "nickelhaltig chrom kobalt kupfer cuivre niquel cromo vanadio cobalto cobre nichel "
            "rame nikiel niklu niklowy niklowe niklowa chromu wanad wanadu kobaltu miedz nikkel "
            "chroom koper krom kobber vanadin kobolt koppar molybden molybdenum molybdan "
            "molibdeno"
        ).split()
    )
    | frozenset("镍 铬 钒 钴 铜 钼"),
}
"""Metals that tell a spent catalyst's entry (any language, symbols as plants write them: *Pd/C*,
*CoMo*, *Fe/Cr*, *V2O5*): the precious metals of 16 08 01 (*gold, silver, rhenium, rhodium,
palladium, iridium or platinum*; ruthenium beside them), and the transition metals the List's
note names as dangerous of 16 08 02 (nickel, chromium, vanadium, cobalt, copper; molybdenum
comes with cobalt or nickel in hydrotreating catalysts). Chinese characters are read inside a
word (*废钯碳催化剂*). Not the symbols or names that are common words in some language (*Au*,
*Ag*, *Ir*, *Re*, *V*, *Co*, *gold*, English *rod*), nor :data:`NOT_METALS`."""

NOT_METALS: Final = _folded(
    {
        "en": "",
        "de": "",
        "nl": "",
        "da": "",
        "sv": "ni",
        "fr": "",
        "es": "ni como",
        "it": "como",
        "pl": "",
        "zh": "",
    }
)
"""Metal words of :data:`CATALYST_METALS` that are words of a language: Spanish *ni* (nor),
*como* (as), Italian *como*, Swedish *ni* (you)."""

NOT_EASILY: Final = frozenset({"non", "schwer", "poorly", "hardly", "slecht", "difficilmente"})
"""Words before *biodegradable* that deny it (*non-biodegradable*, *schwer abbaubar*), beside
each language's negations: a word trait, so texts differing in them are not answered alike."""

BIODEGRADABLE_ADVERBS: Final = frozenset(
    {"readily", "easily", "biologisch", "biologisk", "biologiskt", "leicht", "facilmente",
     "facilement", "latwo", "gemakkelijk", "let", "latt"}
)  # fmt: skip
"""Folded words between a negation and *biodegradable* (*not readily biodegradable*): a word
trait, as :data:`NOT_EASILY` is."""

HALOGENATED: Final = (
    "halogen",
    "halogeen",
    "gehalogen",
    "alogen",
    "chlorinated",
    "chloriert",
    "chlores",
    "chloree",
    "clorurat",
    "gechloreerd",
    "chlorowc",
    "chlorowane",
    "chlorowany",
    "chlorowana",
    "kloreret",
    "klorerad",
    "ckw",
    "lckw",
)
"""How folded words saying *halogenated* or *chlorinated* begin, in every language
(*halogenated*, *halogeniert*, *halogénés*, *halogenados*, *alogenati*, *gehalogeneerd*,
*halogenowane*, *chlorowcowane*, *halogenerede*, *halogenerade*, *chlorés*, *clorurati*,
*klorerade*, the halogens themselves; German *CKW*, *LCKW*: chlorinated hydrocarbons; not the
process, *chlorination*, *chlorowania*, *clorador*). The List
of Waste keeps halogenated solvents, still bottoms, filter cakes and oils apart from the
others (07 xx 03/04, 07 xx 07/08, 07 xx 09/10, 12 01 06/07, 13 01 09/10, 14 06 02/03...).
Not French *chloré* in the singular masculine: folded, it is *chlore*, chlorine. A word that
begins so and says the contrary is read first (:data:`HALOGEN_FREE`)."""

HALOGENATED_WORDS: Final = frozenset({"clorado", "clorados", "clorada", "cloradas"})
"""Words saying *chlorinated* that do not begin the way :data:`HALOGENATED` reads (Spanish
*clorado*: its beginning is *clorador*'s, a chlorinator's)."""

HALOGEN_FREE: Final = (
    "nonhalogen",
    "unhalogen",
    "nichthalogen",
    "ohalogen",
    "niehalogen",
    "niechlorow",
    "nonchlorinat",
    "unchlorinat",
    "halogenfr",
    "halogeenvrij",
    "chlorfrei",
    "chloorvrij",
    "klorfri",
    "nonalogenat",
    "halogenarm",
)
"""How folded words saying *not halogenated* in one word begin (*non-halogenated* written
whole, Swedish *ohalogenerade*, Polish *niechlorowcowane*, *halogenfrei*, *halogenfri*,
*halogeenvrij*). Written apart (*non halogenated*, *halogen free*, *sans halogènes*), a
negation or an absence says it (:data:`NEGATIONS`, :data:`ABSENT_BEFORE`...)."""

HALOGENATED_HAN: Final = ("含卤", "卤代", "含氯", "氯代")
"""Chinese words saying a waste holds halogens or is chlorinated (*含卤精馏残渣*), read inside
a word; not 含氯 before 化 (*含氯化钠*: it holds a chloride, sodium chloride)."""

NOT_HALOGENATED: Final = (
    "halogenlamp",
    "halogenstrahl",
    "halogenleucht",
    "halogenspot",
    "halogenlicht",
    "halogenbirn",
    "halogengehalt",
    "halogengehalte",
    "halogenindhold",
    "halogeenlamp",
)
"""Words that begin as :data:`HALOGENATED` does and say nothing of the waste: halogen lamps
(*Halogenlampen*, *halogenlamper*), a halogen content measured (*Halogengehalt < 0,2 %*,
which as often says the waste is not halogenated)."""

BESIDE_HALOGEN: Final = frozenset(
    fold(
        "lamp lamps lampe lampen lamper lampor lampa lampy lampade lamparas lampara lampes bulb "
        "bulbs spot spots strahler content gehalt teneur contenido contenuto zawartosc gehalte "
        "indhold halt ppm"
    ).split()
)
"""Words beside a word of :data:`HALOGENATED` that make it no statement about the waste (*halogen
lamps*, *lampes halogènes*, *halogen content*, *teneur en halogènes*, *Halogene < 1000 ppm*)."""

ANSWER_NO: Final = _folded(
    {
        "en": "no n",
        "de": "nein",
        "nl": "nee",
        "da": "nej",
        "sv": "nej",
        "fr": "non",
        "es": "no",
        "it": "no",
        "pl": "nie",
        "zh": "",
    }
)
"""A form's *no* after its field's name (*halogeniert: nein*, *chlorinated: no*): the field says
the waste is not that."""

HALOGEN_FREE_HAN: Final = ("非卤", "无卤", "不含卤", "不含氯", "非含卤")
"""Chinese words saying a waste holds no halogen (*非卤代*, *无卤*), read inside a word."""
