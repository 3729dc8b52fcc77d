"""Word lists behind the synthetic data, kept apart so the generators read as logic, not data."""

from __future__ import annotations

# Formal first names map to the nicknames people type instead (William -> Bill).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Michael": ("Mike", "Mikey"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Richard": ("Rick", "Rich"),
    "Jennifer": ("Jen", "Jenny"),
    "Margaret": ("Maggie", "Peggy"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Joseph": ("Joe", "Joey"),
    "Thomas": ("Tom", "Tommy"),
    "Anthony": ("Tony",),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Susan": ("Sue", "Suzy"),
    "Rebecca": ("Becky", "Becca"),
    "Alexander": ("Alex",),
    "Benjamin": ("Ben",),
    "Nicholas": ("Nick",),
    "Samuel": ("Sam",),
    "Jonathan": ("Jon",),
    "Edward": ("Ed", "Ted", "Eddie"),
    "Charles": ("Charlie", "Chuck"),
    "Victoria": ("Vicky", "Tori"),
    "Stephanie": ("Steph",),
    "Andrew": ("Andy", "Drew"),
    "Timothy": ("Tim",),
    "Gregory": ("Greg",),
    "Jessica": ("Jess",),
    "Abigail": ("Abby",),
}

ACCENTED_FIRST = (
    "José", "Zoë", "Renée", "André", "Chloé", "Inés", "François", "Noël", "Sofía", "Björn", "Ramón", "Amélie",
)  # fmt: skip

PLAIN_FIRST = (
    "Emma", "Olivia", "Ava", "Mia", "Noah", "Ethan", "Lucas", "Grace", "Hannah", "Priya", "Wei", "Aisha",
    "Omar", "Mateo", "Layla", "Fatima", "Diego", "Yuki", "Arjun", "Laura", "Sarah", "Emily", "Rachel",
    "Megan", "Kevin", "Brian", "Jason", "Ryan", "Eric", "Adam", "Nathan", "Tyler", "Oliver", "Harry",
    "George", "Amelia", "Isla", "Freya", "Sophie", "Maya", "Leah", "Caleb", "Isaac", "Julia", "Nora",
    "Hazel", "Ruby", "Owen", "Henry", "Jack", "Lily", "Zara", "Kofi", "Mei", "Hiro", "Anya", "Lena",
)  # fmt: skip

FIRST_NAMES: tuple[str, ...] = tuple(NICKNAMES) + ACCENTED_FIRST + PLAIN_FIRST

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson",
    "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards",
    "Collins", "Stewart", "Morris", "Rogers", "Reed", "Cook", "Morgan", "Bell", "Murphy", "Bailey",
    "Cooper", "Richardson", "Cox", "Howard", "Ward", "Peterson", "Gray", "Watson", "Brooks", "Kelly",
    "Sanders", "Price", "Bennett", "Wood", "Barnes", "Ross", "Henderson", "Coleman", "Jenkins", "Perry",
    "Powell", "Long", "Patterson", "Hughes", "Flores", "Washington", "Butler", "Simmons", "Foster",
    "Bryant", "Alexander", "Russell", "Griffin", "Hayes", "Myers", "Ford", "Hamilton", "Graham",
    "Sullivan", "Wallace", "Woods", "Cole", "West", "Jordan", "Owens", "Reynolds", "Fisher", "Ellis",
    "Nguyen", "Patel", "Kim", "Chen", "Wang", "Singh", "Khan", "Okafor", "Tanaka", "Kowalski", "Novak",
    "O'Brien", "O'Connor", "McDonald", "MacLeod", "García", "Muñoz", "Peña", "Núñez", "López", "Pérez",
    "Hernández", "Müller", "Søndergaard", "Dubois", "Lefèvre", "Smith-Jones", "Ahmed", "Rossi",
)  # fmt: skip

# (city, state, ZIP prefix, area codes) - real area codes so the numbers validate.
US_CITIES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("San Francisco", "CA", "941", ("415", "628")),
    ("Los Angeles", "CA", "900", ("213", "310", "323")),
    ("San Diego", "CA", "921", ("619", "858")),
    ("Seattle", "WA", "981", ("206",)),
    ("Portland", "OR", "972", ("503", "971")),
    ("Denver", "CO", "802", ("303", "720")),
    ("Austin", "TX", "787", ("512", "737")),
    ("Dallas", "TX", "752", ("214", "469", "972")),
    ("Chicago", "IL", "606", ("312", "773", "872")),
    ("Minneapolis", "MN", "554", ("612",)),
    ("New York", "NY", "100", ("212", "646", "917", "718")),
    ("Boston", "MA", "021", ("617", "857")),
    ("Philadelphia", "PA", "191", ("215", "267")),
    ("Atlanta", "GA", "303", ("404", "470", "678")),
    ("Miami", "FL", "331", ("305", "786")),
    ("Phoenix", "AZ", "850", ("602", "480")),
    ("Nashville", "TN", "372", ("615", "629")),
    ("Salt Lake City", "UT", "841", ("801", "385")),
    ("Columbus", "OH", "432", ("614", "380")),
    ("Raleigh", "NC", "276", ("919", "984")),
)

# (city, postcode areas) for the GB minority.
GB_CITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("London", ("SW", "SE", "N", "E", "W", "NW")),
    ("Manchester", ("M",)),
    ("Birmingham", ("B",)),
    ("Leeds", ("LS",)),
    ("Bristol", ("BS",)),
    ("Edinburgh", ("EH",)),
    ("Glasgow", ("G",)),
)
GB_MOBILE_PREFIXES = ("74", "75", "78")  # ranges phonenumbers accepts as valid UK mobiles
GB_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

STREET_NAMES = (
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Main", "Church",
    "High", "Mill", "Station", "Victoria", "Sunset", "Ridge", "River", "Spring", "Highland", "Forest",
    "Meadow", "Willow", "Chestnut", "Lincoln", "Franklin", "Jefferson", "Madison", "Harbor", "Bay",
)  # fmt: skip
# Suffix spelled out, with the abbreviation a second form of the same address uses.
US_SUFFIXES = (("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Lane", "Ln"), ("Drive", "Dr"))
GB_SUFFIXES = (("Road", "Rd"), ("Street", "St"), ("Lane", "Ln"), ("Close", "Cl"), ("Avenue", "Ave"))

# (domains, weights)
US_EMAIL_DOMAINS = (
    ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "comcast.net"),
    (45, 15, 12, 10, 10, 3, 5),
)
GB_EMAIL_DOMAINS = (
    ("gmail.com", "btinternet.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com"),
    (40, 15, 20, 15, 10),
)
PLUS_TAGS = ("shop", "promo", "deals", "shopsphere", "orders", "2025")

JUNK_PHONES = ("0000000000", "5555555555", "1234567890", "9999999999")
JUNK_EMAILS = ("none@none.com", "noemail@shopsphere.com", "test@test.com")

# category -> (sku code, nouns, features, price range in dollars)
CATEGORIES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[int, int]]] = {
    "Footwear": (
        "FTW",
        ("Hiking Boot", "Trail Runner", "Sneaker", "Sandal", "Chelsea Boot", "Loafer", "Running Shoe"),
        ("Waterproof", "Lightweight", "Leather", "Cushioned", "All-Weather", "Insulated"),
        (35, 190),
    ),
    "Outerwear": (
        "OUT",
        ("Rain Jacket", "Down Parka", "Fleece", "Softshell Jacket", "Windbreaker", "Vest"),
        ("Packable", "Insulated", "Waterproof", "Recycled", "Hooded", "Stretch"),
        (45, 320),
    ),
    "Apparel": (
        "APP",
        ("Crew Tee", "Flannel Shirt", "Chino", "Hoodie", "Legging", "Polo", "Sweater"),
        ("Organic Cotton", "Merino", "Slim Fit", "Relaxed", "Performance", "Heritage"),
        (15, 95),
    ),
    "Home & Kitchen": (
        "HOM",
        ("Chef's Knife", "Dutch Oven", "Coffee Grinder", "Throw Blanket", "Skillet", "Pour-Over Kettle", "Duvet Cover"),
        ("Cast Iron", "Stainless", "Ceramic", "Bamboo", "Linen", "Copper"),
        (12, 260),
    ),
    "Electronics": (
        "ELE",
        (
            "Wireless Earbuds",
            "Bluetooth Speaker",
            "Smartwatch",
            "Action Camera",
            "Noise-Cancelling Headphones",
            "E-Reader",
            "Power Bank",
        ),
        ("Pro", "Compact", "Ultra", "Rugged", "Max", "Mini"),
        (25, 650),
    ),
    "Beauty": (
        "BEA",
        ("Face Serum", "Lip Balm", "Shampoo", "Body Lotion", "Sunscreen SPF 50", "Hand Cream"),
        ("Hydrating", "Unscented", "Vitamin C", "Botanical", "Mineral", "Repair"),
        (6, 65),
    ),
    "Sports & Outdoors": (
        "SPO",
        ("Daypack", "Tent", "Sleeping Bag", "Yoga Mat", "Water Bottle", "Trekking Poles", "Headlamp"),
        ("Ultralight", "2-Person", "Insulated", "Trail", "Expedition", "Collapsible"),
        (12, 420),
    ),
    "Accessories": (
        "ACC",
        ("Beanie", "Wool Scarf", "Leather Belt", "Sunglasses", "Crossbody Bag", "Wallet"),
        ("Classic", "Polarized", "Cable-Knit", "Vegan Leather", "Travel", "Minimal"),
        (10, 160),
    ),
}
PRODUCT_LINES = (
    "Trailblazer", "Summit", "Harbor", "Metro", "Northwind", "Cascade", "Ember", "Juniper", "Atlas", "Aurora",
    "Basecamp", "Coastline", "Driftwood", "Everest", "Fjord", "Granite", "Horizon", "Ironwood", "Kestrel",
    "Lumen", "Meridian", "Nomad", "Orchard", "Pioneer", "Quarry", "Redwood", "Sierra", "Tundra", "Vista",
    "Wildwood", "Zephyr", "Alder", "Bramble", "Canyon", "Delta",
)  # fmt: skip
TITLE_SUFFIXES = (" - Size 9", " - Size M", ", Navy", ", Black", " (Pack of 2)", " - Olive", ", Large")

_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"
_SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
USER_AGENTS = (
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/126.0 Safari/537.36",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) {_SAFARI} Version/17.5 Safari/605.1.15",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) {_SAFARI} Mobile/15E148",
    f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {_WEBKIT} Chrome/126.0 Mobile Safari/537.36",
    "ShopSphereApp/5.12.0 (iOS 17.5; iPhone15,2)",
    "ShopSphereApp/5.11.3 (Android 14; SM-S918B)",
)
KIOSK_USER_AGENT = "ShopSphereKiosk/2.3.1 (Android 12; Elo I-Series 4)"
REFERRERS = ("", "https://www.google.com/", "https://www.facebook.com/", "https://www.instagram.com/",
             "https://mail.shopsphere.com/campaign", "https://www.bing.com/")  # fmt: skip
SITE = "https://www.shopsphere.com"
