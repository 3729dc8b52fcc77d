"""Nickname -> canonical first name, so "Bill Smith" and "William Smith" compare equal.

Keys and values are in `normalize_name` form (ASCII-folded, lowercase). Ambiguous short forms
(pat, alex, chris, sam, jess) map to the form the ShopSphere sources use most; the matcher
treats first names as one signal among several, so a rare wrong mapping only weakens a score.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# canonical -> the short forms people and clerks write for it.
_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    # English
    "william": ("bill", "billy", "will", "willy", "willie"),
    "robert": ("bob", "bobby", "rob", "robbie"),
    "elizabeth": ("liz", "lizzie", "lizzy", "beth", "betty", "betsy", "eliza", "libby"),
    "katherine": ("kate", "katie", "kathy", "cathy", "kat", "kitty"),
    "michael": ("mike", "mikey", "mick", "mickey"),
    "james": ("jim", "jimmy", "jamie"),
    "richard": ("rick", "ricky", "rich", "richie", "dick"),
    "jennifer": ("jen", "jenny", "jenn"),
    "margaret": ("maggie", "peggy", "meg", "marge", "margie"),
    "christopher": ("chris", "kit"),
    "daniel": ("dan", "danny"),
    "matthew": ("matt", "matty"),
    "joseph": ("joe", "joey"),
    "thomas": ("tom", "tommy"),
    "anthony": ("tony",),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "susan": ("sue", "suzy", "susie"),
    "rebecca": ("becky", "becca"),
    "alexander": ("alex", "xander"),
    "benjamin": ("ben", "benny", "benji"),
    "nicholas": ("nick", "nicky"),
    "samuel": ("sam", "sammy"),
    "jonathan": ("jon", "jonny"),
    "edward": ("ed", "eddie", "ted", "teddy", "ned"),
    "charles": ("charlie", "chuck", "chas"),
    "victoria": ("vicky", "vicki", "tori"),
    "stephanie": ("steph",),
    "andrew": ("andy", "drew"),
    "timothy": ("tim", "timmy"),
    "gregory": ("greg",),
    "jessica": ("jess", "jessie"),
    "abigail": ("abby", "abbie"),
    "david": ("dave", "davy"),
    "steven": ("steve", "stevie"),
    "john": ("johnny",),
    "henry": ("harry", "hank"),
    "kenneth": ("ken", "kenny"),
    "ronald": ("ron", "ronnie"),
    "donald": ("don", "donnie"),
    "frederick": ("fred", "freddie", "freddy"),
    "lawrence": ("larry",),
    "gerald": ("jerry",),
    "joshua": ("josh",),
    "zachary": ("zach", "zack"),
    "nathan": ("nate",),
    "raymond": ("ray",),
    "philip": ("phil",),
    "peter": ("pete",),
    "walter": ("walt", "wally"),
    "douglas": ("doug",),
    "jeffrey": ("jeff",),
    "leonard": ("len", "lenny"),
    "stanley": ("stan",),
    "vincent": ("vince", "vinny"),
    "gabriel": ("gabe",),
    "deborah": ("deb", "debbie", "debby"),
    "cynthia": ("cindy",),
    "sarah": ("sally", "sadie"),
    "amanda": ("mandy",),
    "kimberly": ("kim", "kimmy"),
    "barbara": ("barb", "barbie"),
    "mary": ("molly", "polly", "mamie"),
    "dorothy": ("dot", "dottie", "dolly"),
    "theresa": ("terri", "tess"),
    "samantha": ("sammie",),
    "christine": ("chrissy", "tina"),
    "jacqueline": ("jackie",),
    "alexandra": ("sasha",),
    # Spanish
    "jose": ("pepe", "chepe"),
    "francisco": ("paco", "pancho", "curro"),
    "ignacio": ("nacho",),
    "guadalupe": ("lupe", "lupita"),
    "jesus": ("chucho", "chuy"),
    "dolores": ("lola",),
    "enrique": ("quique",),
    "guillermo": ("memo",),
    "antonio": ("tono",),
    "concepcion": ("concha", "conchita"),
    "manuel": ("manolo",),
}

NICKNAMES: Final[Mapping[str, str]] = MappingProxyType(
    {nick: canonical for canonical, nicks in _GROUPS.items() for nick in nicks}
)
"""Read-only map from a normalised nickname to its normalised canonical first name."""
