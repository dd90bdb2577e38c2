"""Words and phrases that say the same thing in a question, for the semantic cache's content gate.

Word vectors cannot tell a synonym from a sibling: in all-MiniLM-L6-v2, "update"/"change" are
0.61 apart and "chicken"/"beef" 0.60, "husband"/"wife" 0.87. So the words that may stand for each
other are listed here by hand, as general English of the questions people put to a support desk
or an assistant. A group holds words that are interchangeable in such a question; it never holds
opposites, two kinds of one thing (chicken/beef, phone/email), or a general word and a specific
one (insurance/car insurance). A word may sit in several groups ("make" a claim, an appointment,
an account); two words match when they share one.

Common multi-word expressions are first rewritten as the one word they mean ("sign up" as
"register", "what time does" as "when does"), so the gates compare like with like.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import regex

from gatewise.cache import countries

# One group a line: its name, then its words (base forms; inflections are found by the stem).
# The groups from "enable" on say one side of an opposite pair in other words: a side alone is no
# synonym ("legal" is not "safe", nor "receive" "deposit").
_GROUPS = """
alot: lot lots plenty many much
obtain: get obtain receive request acquire order
change: change update amend modify edit alter adjust switch
replace: replace change swap
submit: submit make file lodge place
send: send submit
bring: bring take carry
create: create setup make establish
book: book reserve schedule make arrange
check: check view see find track look
contact: contact reach
call: call phone ring telephone
fix: fix repair mend resolve solve
cancel: cancel terminate end stop
need: need require required necessary needed mandatory compulsory must
allowed: allow allowed permitted can may able possible legal
price: price cost fee pricing tariff fare charge
exist: available there
offer: offer provide supply available
fast: fast quick rapid speedy swift quickly rapidly swiftly
cheap: cheap cheapest inexpensive affordable
big: big large
small: small little
quiet: mute silence
home: home house household
flat: flat apartment
car: car vehicle motor automobile
mobile: phone mobile cellphone smartphone handset
delivery: delivery deliver shipping ship postage dispatch
parcel: parcel package
refund: refund reimbursement reimburse
luggage: luggage baggage bag bags
holiday: holiday vacation
doctor: doctor gp physician
pharmacy: pharmacy chemist
film: film films movie movies
shop: shop store
rubbish: rubbish trash garbage litter
bill: bill invoice
problem: problem issue trouble
symptom: symptom sign
email: email e-mail
mistake: mistake error
photo: photo photograph picture pic pics
meaning: mean meaning definition define
calculate: calculate compute
collect: collect fetch
broken: broken damaged faulty
choose: choose pick select
display: show display
near: nearest closest
help: help assist assistance
salary: salary wage wages
dispute: dispute challenge contest
score: score rating
finish: complete finish
pay: pay settle
inform: tell inform notify report
move: move relocate
rent: rent hire
recover: recover retrieve restore
setup: setup install configure
try: try attempt
eat: eat consume
enquire: enquire inquire ask enquiry inquiry query
reply: reply respond answer
happen: happen occur
postpone: postpone defer
expire: expire
return: return
booking: book booking reservation
discount: discount reduction
staff: staff employees
boss: boss employer
customer: customer client
medicine: medicine medication
paracetamol: paracetamol acetaminophen
lawyer: lawyer solicitor attorney
subtitles: subtitles captions
vaccine: vaccine vaccination jab shot immunisation immunization
illness: illness sickness
sick: sick ill unwell
bike: bike bicycle
lorry: lorry truck
motorbike: motorbike motorcycle
plane: plane aircraft aeroplane airplane
trip: trip journey
rail: train rail
garden: garden yard
earnings: earnings income
money: money funds
insurance: insurance insured insure cover covered coverage
include: include included cover covered
warranty: warranty guarantee
complaint: complaint grievance
document: document documentation paperwork doc docs
certificate: certificate cert
information: information info
advert: advert advertisement ad ads
maths: maths math mathematics
id: id identification
screen: screen display
tv: tv television
vet: vet veterinarian
university: university uni
course: course programme program
exam: exam examination
expensive: expensive costly pricey
huge: huge enormous
free: free complimentary
extra: extra additional
abroad: abroad overseas international foreign
online: online internet web
internet: internet broadband
eligible: eligible entitled qualify qualified
due: due deadline
contract: contract term
quote: quote quotation estimate
status: status progress
rules: rules regulations
timetable: timetable schedule
wifi: wifi wi-fi wireless
chequebook: chequebook checkbook
payslip: payslip paystub
restart: restart reboot
promo: promo discount voucher coupon
job: job employment
items: items products goods
usage: usage consumption
information: information info details
permission: permission consent
lost: lost missing misplaced
manager: manager boss supervisor
fridge: fridge refrigerator
sofa: sofa couch
mail: post mail
postcode: postcode zip
taxi: taxi cab
lift: lift elevator
motorway: motorway highway
maths: maths math
ounce: ounce oz
enable: enable activate
disable: disable deactivate
start: start begin launch
stop: stop quit cease halt
delete: delete remove erase uninstall
ban: ban forbid prohibit bar disallow
reject: reject decline refuse deny
join: join enrol enroll register
buy: buy purchase
insert: add insert
increase: increase raise boost
reduce: reduce decrease lower cut
earlier: earlier previous prior
minimum: minimum min least
maximum: maximum max most
pause: pause freeze suspend
connect: connect pair link
unsafe: unsafe dangerous harmful hazardous
toxic: toxic poisonous
illegal: illegal unlawful
used: used secondhand second-hand pre-owned
difficult: difficult hard
loud: loud noisy
indoor: inside indoors indoor
outdoor: outside outdoors outdoor
entry: entry entrance admission
merge: merge combine
split: split separate divide
"""

# "kick someone out", "throw them out": the verb, up to two words, and "out".
_PUT_OUT = r"(?:kick|throw|threw|thrown|boot|chuck)(?:s|ed|ing)?((?: [a-z]+){0,2}) out"

# Pieces of the expressions below: a verb of storing, a determiner, what may follow a place that
# ends its phrase.
_STORING = r"\b(?:put|store|keep)(?:s|ting|ing)? "
_A = r"(?:the |a |my |your )?"
_CLAUSE_ENDS = r"(?=\s*(?:[?.!,;]|$|(?:for|and|or|if|when|so|overnight)\b))"

# Expressions rewritten before the words are read: (pattern, the word it means). Verb forms are
# spelled out so that "signed up" and "signing up" read as "register" too.
_PHRASES = (
    (r"\bsign(?:s|ed|ing)?[ -]?up\b", "register"),
    (r"\b(?:log|sign)(?:s|ged|ging|ed|ing)?[ -]?(?:in|on)(?:to)?\b", "login"),
    (r"\b(?:log|sign)(?:s|ged|ging|ed|ing)?[ -]?(?:out|off)\b", "logout"),
    (r"\bset(?:s|ting)?[ -]up\b", "setup"),
    (r"\b(?:find|found|finding|look|looked|looking)(?:ing)? (?:out|up)\b", "check"),
    (r"\bget(?:ting)? in touch\b|\bget(?:ting)? hold of\b|\b(?:speak|talk)(?:ing)? (?:to|with)\b", "contact"),
    (r"\bask(?:ed|ing)? for\b", "request"),
    # "stop receiving the newsletter" is unsubscribing from it
    (r"\bstop(?:s|ped|ping)? receiving\b", "unsubscribe from"),
    # "What's stopping me from logging in?" asks why I can't log in
    (r"\bwhat(?: is|'s) (?:stopping|preventing) me from\b", "why can't I"),
    (r"\bwhat(?: is|'s) (?:stopping|preventing) ((?:my|the|our|this|your) [a-z]+) from\b", r"why can't \1"),
    # a thing that has stopped working is not working ("my SIM has stopped working" / "my SIM card
    # isn't working"), nor charging or syncing
    (r"\b(?:has |have |had )?stopped (?=[a-z]+ing\b)(?!(?:during|\w*thing|morning|evening|bring|spring)\b)",
     "is not "),
    # "stop my bread (from) rising" prevents what "make my bread rise" asks for; "keep my child at
    # home instead of going to A&E" denies the going
    (r"\bstop(?:s|ped|ping)?\b(?=(?: (?!from\b)[\w'’]+){1,3}(?: from)? [a-z]+ing\b)", "prevent"),
    (r"\b(?:keep(?:s|ing)?|kept)\b(?=(?: [\w'’]+){1,3} from [a-z]+ing\b)", "prevent"),
    # "get my puppy to stop biting" is stopping it biting
    (r"\b(?:get|gets|getting|got|make|makes|making|made)\b((?: [\w'’]+){1,3}) to stop\b(?= [a-z]+ing\b)",
     r"prevent\1 from"),
    # not "instead of eggs": a substitute
    (r"\b(?:instead of|rather than|in place of)\b(?= [a-z]+ing\b)", "without"),
    (r"\b(?:rather than|in place of)\b", "instead of"),
    # money put on a card or an account tops it up; charging extra for a thing is a fee for it
    (r"\b(?:add|adds|added|adding|put|puts|putting|load|loads|loaded|loading) (?:some |more )?"
     r"(?:money|credit|funds|cash) (?:to|on|onto)\b", "top up"),
    (r"\bcharge(?:s|d)? (?:me |you |us )?(?:anything )?extra\b", "charge a fee"),
    # a browser's or an app's cached files are its cache
    (r"\bcached (?:files|data|images)\b", "cache"),
    # a home's size: "a 2 bed flat" is a two-bedroom one
    (r"\b(\d|one|two|three|four|five|six)[ -]bed\b(?![ -]?room)", r"\1 bedroom"),
    # a setting of one's account is changed on it: "update my address on my account" updates it
    (r"\s+(?:on|in|for|with|within) (?:my|our|the) ac+o?un?t(?=\s*[?.!]*\s*$)", ""),
    # a cheque paid in is deposited (not cash: "pay in cash" is paying with it)
    (r"\bpa(?:y|ys|id|ying) in ((?:a |the |my |some |this )?)(?:cheque|check)(s?)\b", r"deposit \1cheque\2"),
    # "show hidden files" undoes hiding them
    (r"\b(?:show|reveal|display|see|view|find)(?:s|ing|ed|n)? (?:the |my |all )?hidden\b", "unhide"),
    (r"\bfill(?:ed|ing)? (?:in|out)\b", "complete"),
    (r"\bpick(?:ed|ing)? up\b", "collect"),
    # "work out" with nothing to work out after it is exercise ("How often should I work out?"), and
    # so is working out for the body's sake ("work out to lose weight"; not "it works out to £5")
    (r"\bwork(?:s|ed|ing)?[ -]?outs?\b(?=\s*(?:[?.!,;]|$|\b(?:at|in|every|each|a|per|for|before|after|during"
     r"|when|daily|weekly|twice|once|on|at|regularly|more|less"
     r"|to (?:lose|build|gain|burn|tone|bulk|strengthen|get fit|stay fit|keep fit))\b))", "exercise"),
    (r"\bwork(?:ed|ing)? out\b", "calculate"),
    (r"\bmoney back\b", "refund"),
    # A reply that waves a thanks or an apology away ("No problem, I've noted it.") negates
    # nothing; "there is no problem with it" still does.
    (r"(?:^|(?<=[.!?]\s))(?:no (?:problem|worries|bother)|not a problem)\b", "ok"),
    # Not remembering is forgetting: "I can't remember my password" has lost it as "I forgot" has.
    (r"\b(?:can't|cannot|can not|couldn't|could not|don't|do not|didn't|did not)\s+(?:remember|recall)\b",
     "forgot"),
    (r"\bget(?:s|ting)? rid of\b|\bgot rid of\b", "remove"),
    # "kick someone out of the group" removes them from it
    (rf"\b{_PUT_OUT} of\b", r"remove\1 from"),
    (rf"\b{_PUT_OUT}\b", r"remove\1"),
    (r"\bsort(?:s|ed|ing)? out\b", "fix"),
    (r"\bput(?:s|ting)? off\b", "postpone"),
    (r"\bannual leave\b", "holiday"),
    # "What does the term 'APR' mean?" asks what "What does APR mean?" does
    (r"\b(?:the )?(?:term|word|phrase|expression|acronym|abbreviation)\s+(?=['\"‘“])", ""),
    # "changing to a different provider" is switching provider
    (r"\b((?:chang|switch|mov)(?:e|es|ed|ing|h|hes|hed|hing)?) to (?:a |an )?(?:different|another)\b",
     r"\1 to"),
    (r"\bmost recent\b", "latest"),
    # what costs the most is the most expensive, what costs less cheaper
    (r"\bcost(?:s|ing)? (?:the )?most\b", "are most expensive"),
    (r"\bcost(?:s|ing)? (?:the )?least\b", "are cheapest"),
    (r"\bcost(?:s|ing)? more\b", "are more expensive"),
    (r"\bcost(?:s|ing)? less\b", "are cheaper"),
    # "put my membership on hold" pauses it
    (r"\bput(?:s|ting)?\b((?: [\w'’]+){1,3}) on hold\b", r"pause\1"),
    # Other names of one product, place or thing
    (r"\b(?:two|2)[ -]factor(?: authentication| auth|(?! (?:anova|analysis|model|design|theory)))\b"
     r"|\b(?:two|2)[ -]step (?:verification|authentication)\b", "2FA"),
    (r"\b(?:second world war|world war (?:2|two|ii))\b|\bww ?(?:2|ii)\b", "WW2"),
    (r"\b(?:first world war|world war (?:1|one|i))\b|\bww ?(?:1|i)\b", "WW1"),
    (r"\bms (?=(?:word|excel|office|teams|outlook|powerpoint|access|edge)\b)", "Microsoft "),
    # "win 11" is Windows where a system is named ("on win 11", "my win 10 laptop"), not "win 10 games"
    (r"(?<=\b(?:on|for|in|with|my|of|from|running|install|installing|upgrade|upgrading) )"
     r"win ?(?=(?:7|8|10|11)\b)", "Windows "),
    (r"\bgoogle mail\b", "Gmail"),
    (r"\b(?:the )?london underground\b", "the Tube"),
    # American and British names of one thing
    (r"\bchecking account(s?)\b", r"current account\1"),
    (r"\bfaucet(s?)\b", r"tap\1"),
    (r"\b(?:city|town) cent(?:re|er)\b", "downtown"),
    (r"\bwire transfer(s?)\b", r"bank transfer\1"),
    (r"\b(deposit|cash|pay in|paying in|write|sign)\s+(a|the|my|this|that)\s+check\b", r"\1 \2 cheque"),
    (r"\bzip code\b", "postcode"),
    (r"\b(?:cash ?(?:machine|point|dispenser)|atm)(s?)\b", r"ATM\1"),
    (r"\b(?:(?:a |some )?(?:form of |proof of )?identification|proof of (?:identity|id)|photo id)\b", "ID"),
    # Within one country is domestic, the opposite of international.
    (r"\b(?:within|inside) the country\b|\bin the same country\b|\bdomestically\b", "domestic"),
    (r"\bpay (?:slip|stub)(s?)\b", r"payslip\1"),
    (r"\bparking lot(s?)\b", r"car park\1"),
    (r"\bpower (?:cut|outage|failure)(s?)\b", r"power cut\1"),
    (r"\b(?:run|runs|ran|running) out\b", "expire"),
    (r"\b(?:send|sent|sending|bring|brought|bringing|give|gave|giving)"
     r" (?:it |them |something |anything )?back\b", "return"),
    (r"\blocal authority\b", "council"),
    (r"\bhow come\b|\bwhat(?: is|'s) the reason(?: why| for)?\b|\bfor what reason\b", "why"),
    # Buying or returning "in store", "in a shop", "in person" or "in branch" is doing it offline.
    (r"\bin[ -](?:(?:a |the )?(?:stores?|shops?)|person|branch|(?:a |the )branch)\b", "offline"),
    # "What's the easiest way to move my photos?" asks how to move them ("the best way" and
    # "the quickest way" say no more); "the hardest way" still takes a side.
    (r"\b(?:easiest|simplest) (?=ways?\b)", ""),
    # "What's making my battery drain?", "what is causing the noise?", "what makes bread dense?"
    # and "what could be causing it?" ask why ("what can I make?" asks what is made).
    (r"\bwhat(?: is|'s| was| could be| might be| would be| can be) (?:making|causing)\b"
     r"|\bwhat (?:causes|caused|makes|made)\b", "why does"),
    (r"\bdue to\b", "because"),
    # what is bad for someone harms them: "Is chocolate bad for cats?" / "harmful to cats"
    (r"\bbad (?=for\b)", "harmful "),
    # Compounds whose head alone says the same in a question: a hotel's pool is a swimming pool,
    # and "my car insurance policy" is "my car insurance".
    (r"\bswimming[ -]pools?\b", "pool"),
    (r"\binsurance (?:policy|policies|cover|plans?)\b", "insurance"),
    (r"\b(?:go|goes|went|going|gone) live\b", "activated"),
    # A place that welcomes dogs or pets allows them ("user-friendly" says nothing of the kind).
    (r"\b(dog|pet)s?[ -]friendly\b", r"\1s allowed"),
    # Asking whether one must ("Do I need a visa?", "Do I have to work from home?") is not
    # asking whether one may ("Can I work from home?"): the requirement is spelled out, and who
    # must is kept ("Do I need to tell my landlord?" is not "Does my landlord need to tell me?").
    (r"\b((?:do|does|did|will|would)\s+(?:i|we|you|they|he|she|it))\s+(?:need(?:\s+to)?|have\s+to)\b",
     r"\1 required"),
    (r"\bmust\s+(?:i|we|you|they|he|she|it)\b", "required"),
    # "How many days does it take", "How many working days to get a refund?" ask how long it
    # takes, in days ("How many days for annual leave?" asks for an allowance).
    # The unit stays, as the unit the answer is asked in: "How many days ...?" and "How many
    # weeks ...?" ask for two counts.
    (r"\bhow many (?:working |business )?(minutes|hours|days|weeks|months|years)"
     r"(?= (?:does|do|did|will|would|should|is|are|to|until|till|before)\b)", r"how long \1"),
    # units and courtesies shortened
    (r"\bhow many mins\b", "how many minutes"),
    (r"\bhow many (?-i:g)\b", "how many grams"),  # "how many G" may be gigabytes
    (r"\b(?-i:pls|plz)\b", "please"),  # PLS is also an acronym
    (r"\bthx\b", "thanks"),
    # "off-peak", "on-site", "off peak": one word, so that on- and off- stand against each other
    (r"\bon-(peak|site|street|road|premises?|chain)\b", r"on\1"),
    (r"\boff-(peak|site|street|road|premises?|chain)\b|\boff (peak)\b", r"off\1\2"),
    # text-speak for small words, in lower case ("U" may be a name or a grade)
    (r"(?<=\b(?:do|did|can|could|will|would|are|have|should|thank|r) )(?-i:u)\b(?!['’.-])"
     r"|(?-i:\bu)(?= (?:can|have|are|know|need|do|help|think|get|r)\b)", "you"),
    (r"(?-i:\bur\b)", "your"), (r"\bppl\b", "people"),
    (r"\babt\b", "about"), (r"\bw/o\b", "without"), (r"\bw/(?=\s)", "with"), (r"\b2day\b", "today"),
    (r"\b(?:2morrow|2moro|tmrw|tmr)\b", "tomorrow"), (r"\bb4\b", "before"),
    # a verb done again: "resend the link" sends it again, "retake the exam" takes it again
    (r"\bre-?(send|take|apply|install|do|order|book|open|submit|connect|load|join|activate|sit|fill|"
     r"print|try|check|verify|test|upload|download|enter|use|watch|subscribe)(s|es|ed|ing)?\b",
     r"\1\2 again"),
    # "Where can I find out my score" asks how to check it, not for a place; so does "where can I
    # see my statements" ask how to see one's own things ("where can I find a pharmacy" or "where
    # can I park" still ask for a place).
    (r"\bwhere (?:can|could|do|would|should) (?:i|we) (?:find out|look up)\b", "how do I check"),
    # "How do I know if my flight is delayed?" asks how to check
    (r"\bhow (?:do|can|could|will|would|should) (?:i|we) (?:know|tell|find out)(?= (?:if|whether)\b)",
     "how do I check"),
    (r"\bwhere (?:can|could|do|would|should) (?:i|we)"
     r"(?= (?:see|view|find|check|download|access|order|request|track) (?:my|our|how much|how many)\b"
     r"| (?:view|check|download|access|order|request|track) (?:a|an|the)\b)",
     "how do I"),
    # "Once" before a clause is "after" ("once I've been here five years"), not a count as in
    # "once a week", "once this year" (a period after a determiner stays a count); "first" closing
    # a clause the asker or a person is the subject or object of is "before" ("warn me first", "do
    # I pay first"), not the ordinal of "the first", "my first invoice" or "who finished first".
    (r"\bonce(?= (?:i|i've|i'm|i'd|you|you've|you're|we|we've|we're|they|they've|they're|he|she|it|"
     r"it's|there|the|my|your|our|their|his|her|its|this|that|these|those|everything|everyone)\b)"
     r"(?! (?:the|my|your|our|their|his|her|its|this|that|these|those) (?:[a-z]+ )?"
     r"(?:day|week|fortnight|month|quarter|term|semester|season|year|decade|lifetime|time|morning|"
     r"afternoon|evening|night|weekend)s?\b)",
     "after"),
    (r"\b((?:i|we|you) (?:[a-z']+ ){0,2}(?!(?:the|a|an|my|your|our|their|his|her|its|this|that|each|every|"
     r"very|at)\b)[a-z']+|me|us|them|him) first(?=\s*(?:[.,!?;:)]|$))", r"\1 before"),
    # Opening hours are the times a place is open, not a number of hours: asking for them asks
    # when it is open.
    (r"\b(?:opening|business|office|trading) (?:hours|times)\b", "open when"),
    # "When flying", "when travelling" set a circumstance; they do not ask when.
    (r"\bwhen(?= \w+ing\b)", "while"),
    # "what time does it open" asks when; "what time zone" does not. So do "what day is collection",
    # "which year was it built" and "how soon can I".
    (r"\b(?:what time|(?:what|which) (?:day|date|month|year))"
     r"(?= (?:is|are|was|were|does|do|did|will|would|can|could|should|must|'s)\b)", "when"),
    (r"\bhow soon\b|\bat what age\b", "when"),
    # How late a place is open, or until what time, is when it closes.
    (r"\b(?:how late|(?:until|till) (?:what time|when)) (?:is|are|does|do|will) ((?:[\w'-]+ ){1,4}?)"
     r"(?:stay |be )?open\b", r"when does \1close"),
    # "a visa to travel to Canada" (or "required to visit Canada") is a visa for Canada
    (r"\b(visas?|passports?|vaccinations?|vaccines?|jabs?)((?: is| are)? (?:required|needed|necessary))? "
     r"to (?:(?:travel|go|fly) to|visit|enter)\b", r"\1\2 for"),
    # "How long until a transfer arrives?" asks how long it takes (not "How long until the shop
    # opens?", which asks for the time left before an event)
    (r"\bhow long (?:is it )?(?:until|till) ((?:[\w'-]+ ){1,6}?)(?:arrives?|comes?|clears?|gets? here)\b",
     r"how long does \1take"),
    # "What could be wrong?" asks why; the last date is the deadline; after dark is at night;
    # working from home is working remotely
    (r"\bwhat(?:'s| is| could be| might be| would be| can be) (?:wrong|the problem)\b", "why"),
    (r"\bthe last (?:date|day)(?= (?:to|for)\b)", "the deadline"),
    (r"\bafter dark\b", "at night"),
    # What entry to a place costs is what the place costs: "Is entry to the museum free?" (not
    # "Where is the entrance to the station?")
    (r"\b(?:entry|entrance|admission) (?:to|into) (?=(?:the|a|an|this|your) [^?.!]{0,60}"
     r"\b(?:free|costs?|price|charged?|fees?)\b)", ""),
    # A fare's class: "economy class" is economy
    (r"\b(economy|business) class\b", r"\1"),
    # How many a room or a venue holds is its capacity
    (r"\bhow many (?:people|guests|persons|seats)(?: can| does| will)? "
     r"((?:the|a|an|this|that|your|our|my) (?:[\w'-]+ ){1,3}?)(?:hold|seat|fit|take|accommodate)\b",
     r"what is the capacity of \1"),
    # Taking a medicine is being on it: "alcohol while taking antibiotics" / "... on antibiotics"
    (r"\b(?:while|when) (?:i'm |i am |you're |you are )?(?:taking|on)\b", "on"),
    (r"\bwork(ing)? from home\b", r"work\1 remotely"),
    # "free of charge" is free, and so is what costs nothing ("Is there no fee for ATM withdrawals?"
    # / "Are ATM withdrawals free?"); a train "running late" is delayed
    (r"\bfree of (?:charge|cost)\b|\bno (?:extra )?(?:fees?|charges?|costs?)\b", "free"),
    (r"\bcosts? nothing\b", "is free"),
    # "without paying a fee", "at no cost" are for free; a payment that "didn't go through" failed;
    # "unable to" is "cannot"; "on an empty stomach" is without food
    (r"\bwithout (?:paying |being charged )?(?:a |any )?(?:fee|charge|cost|penalty)s?\b"
     r"|\bat no (?:extra |additional )?(?:cost|charge)\b", "for free"),
    (r"\b(?:didn't|did not|hasn't|has not|haven't|have not|won't|will not|wouldn't|would not)"
     r" (?:go|gone) through\b", "failed"),
    (r"\b(did|has|have|will|would|does|do)(?:n't| not) ((?:[\w']+ ){1,3}?)(?:go|gone) through\b",
     r"\1 \2fail"),
    (r"\b(?:(?:am|is|are|was|were) )?unable to\b", "cannot"),
    (r"\bon an empty stomach\b", "without food"),
    (r"\b(i|you|we|they|he|she|it)(?:'m|'re|'s) unable to\b", r"\1 cannot"),
    (r"\brunning (?:late|behind)\b", "delayed"),
    # "What steps do I need to take to cancel?" asks how to
    (r"\bwhat steps (?:do|should|must|would) (?:i|we) (?:need to |have to )?(?:take|follow) to\b",
     "how do I"),
    # a bank holiday is a public holiday
    (r"\bbank (?=holidays?\b)", "public "),
    # An indirect question of what something is: "I'd like to know the population of London",
    # "Tell me the opening times".
    (r"\b(?:(?:i'd|i would|i want|i need|i wanted) (?:like )?to (?:know|find out)|(?:please )?tell me)"
     r"(?= (?:the|a|an|my|your|our)\b)", "what is"),
    # Not knowing how, what or whether is asking it: "I don't know how to cancel my plan", "not
    # sure if my flight is delayed", "any idea why ...?" (the negation is the asker's, not the
    # question's).
    (r"\b(?:i(?:'m| am)? )?(?:(?:do|did)(?:n't| not) know|not sure|(?:can't|cannot|couldn't|can not) "
     r"(?:figure|work) out|(?:have )?no idea|any idea)"
     r"(?= (?:how|what|where|when|why|who|which|whether|if)\b)", "tell me"),
    # So is not remembering: "I always forget, what's the capital of Australia?" ("I forgot my
    # password" says what happened).
    (r"\b(?:i )?(?:always |sometimes |keep )?(?:forget|forgot|forgetting|can't remember|cannot remember|"
     r"can never remember|don't remember)(?=\s*[,:;-]|\s+(?:how|what|where|when|why|who|which|whether|if)\b)",
     "tell me"),
    # "Name the capital of ...", "List the symptoms of ...", "Give me the ..." ask what they are.
    (r"(?:^|(?<=[.!?,:;-] ))(?:please )?(?:name|list|give me|identify)"
     r"(?= (?:the|a|an|all|some|every|\d+|two|three|four|five|ten)\b)", "what is"),
    # "Quick one:", "quick question -" say nothing of what is asked ("one" is no count there).
    (r"\b(?:a |one )?quick (?:one|q|question)\b", ""),
    # "Do you mind if I ...?" asks whether one may; "just checking", "just wondering" say nothing;
    # "any reason why ...?" asks why.
    (r"\b(?:do|would) you mind if (i|we)\b", r"can \1"),
    (r"\bjust (?:checking|wondering|curious|asking)\b", ""),
    (r"\b(?:is there )?any (?:particular )?reason(?: why)?\b", "why"),
    # "Help me understand X" asks to have it explained; "translate X into French" asks for X in
    # French ("What's 'thank you' in French?").
    (r"\bhelp me (?:to )?understand\b", "explain"),
    (r"\btranslate ((?:[^\s.?!]+ ){1,12}?)(?:in)?to (?=[a-z]+\b)", r"\1in "),
    # What one pays for a thing, and how expensive it is, ask its price; the nearest or closest
    # place asks where it is; how early a place opens asks when.
    (r"\bwhat (?:do|will|would|should|did) (?:i|we|you) (?:have to |need to )?pay"
     r"(?= for (?:a|an|the|my|your|our)\b)", "price"),
    (r"\bhow (?:expensive|pricey|costly)(?= (?:is|are|was|were|will|would)\b)", "price"),
    (r"\bwhat(?:'s| is) the (?=(?:nearest|closest)\b)", "where is the "),
    (r"\bhow early(?= (?:does|do|is|are|will) (?:[\w'-]+ ){1,4}?(?:open|start|begin)\b)", "when"),
    # A capital city is the capital.
    (r"\bcapital city\b", "capital"),
    # "How does one ...?" asks what "How do you ...?" does ("one of", "one person" still count).
    (r"\b(how (?:do|does|would|should)) one\b(?! of\b)|\b(do|does) one(?= need\b)", r"\1\2 you"),
    # "ASAP" says how soon, not what
    (r"\basap\b", ""),
    # "how much time" asks what "how long" does
    (r"\bhow much time\b", "how long"),
    # "What does APR stand for?", "What is APR short for?" ask what it means.
    (r"\b(?:stands?|stood) for\b|\b(?:short|an abbreviation|an acronym) for\b", "mean"),
    # "What do I need to do to activate it?" asks how to.
    (r"\bwhat (?:do|does|should|must|would) (?:i|we|you|one) (?:need|have) to do (?:in order )?to\b",
     "how do I"),
    (r"\blet(?:s|ting)? (me|you|us|them|him|her|someone|somebody|anyone|(?:the|my|your|our|their) [a-z]+)"
     r" know\b", r"tell \1"),
    # Putting food in the freezer freezes it; in the fridge, refrigerates it (not "in a freezer bag").
    (rf"{_STORING}((?:[\w'-]+ ){{0,3}}?[\w'-]+) in(?:to)? {_A}freezer\b{_CLAUSE_ENDS}", r"freeze \1"),
    (rf"{_STORING}((?:[\w'-]+ ){{0,3}}?[\w'-]+) in(?:to)? {_A}fridge\b{_CLAUSE_ENDS}", r"refrigerate \1"),
    # "the past three months" are "the last three months"
    (r"\bpast(?= (?:(?:\d{1,4}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few) )?"
     r"(?:minute|hour|day|week|fortnight|month|year|decade)s?\b)", "last"),
    # A temperature's sign spelt out: 180°C is 180 degrees Celsius.
    (r"(?<=\d) ?° ?c\b", " degrees celsius"),
    (r"(?<=\d) ?° ?f\b", " degrees fahrenheit"),
    (r"° ?c\b", "celsius"),  # "in °C"
    (r"° ?f\b", "fahrenheit"),
    # Paying with something is possible where it is accepted.
    (r"\b(?:(?:can|could|may) (?:i|we)|is it possible to|am i able to) pay (?:with|by|using|via|through)\b",
     "do you accept"),
    # Lifting a freeze, a ban or a hold removes it.
    (r"\blift(?:s|ed|ing)? (a |an |the |my |your |our |their )?((?:[a-z]+ )?)(?=(?:freeze|ban|hold|block|"
     r"suspension|restriction|limit|embargo)s?\b)", r"remove \1\2"),
    # "how much is it", "how much does it cost" ask a price; "how much luggage" a quantity, and so
    # does "how much does it weigh".
    (r"\bhow much(?= (?:is|are|was|were|does|do|did|will|would|'s|it|to|for)\b)"
     r"(?![^?.!,;]{0,80}\bweigh(?:s|ed)?\b)", "price"),
)
# One pass over the text: each expression is a named alternative, g0, g1... Compiled by ``regex``,
# which runs this many alternatives about twice as fast as ``re`` with the same matches.
_PHRASE_PATTERN = regex.compile("|".join(f"(?P<g{i}>{p})" for i, (p, _) in enumerate(_PHRASES)),
                                regex.IGNORECASE | regex.V0)


def _in_one_pattern(i: int, replacement: str) -> str:
    """``replacement`` with its references to expression ``i``'s groups ("\\1s allowed")
    renumbered as groups of the one pattern, where they follow that expression's own group."""
    first = _PHRASE_PATTERN.groupindex[f"g{i}"]
    return re.sub(r"\\(\d+)", lambda ref: f"\\g<{first + int(ref[1])}>", replacement)


_REPLACEMENTS = tuple(_in_one_pattern(i, replacement) for i, (_, replacement) in enumerate(_PHRASES))


# A question for an amount, a time or a thing that someone has to (needs to, must) give, pay or
# wait, or needs, asks what they should: "How long do I have to wait?" is "How long I should
# wait", the waiting time; "What score do I need to pass?" is the pass mark, "Which documents are
# required?" the documents one should bring. The doer stays before the verb, where the role gate
# reads it ("my employer should pay" / "I should contribute"), and what one may do still differs
# (answer_kinds.may_against_must). What one needs to do to get something is read by the rewrites
# above, and a yes/no question ("Do I have to pay?") keeps the requirement.
_WH_NECESSITY = re.compile(
    r"\b(?P<asked>(?:what|which|when|how (?:long|much|many|often|early|soon|far)|by (?:what|which) \w+)\b"
    r"(?:(?!\b(?:if|and|or|but)\b)[^?.!,;]){0,40}?)"
    r"(?:\b(?:do|does|will|would)\s+(?P<doer>(?:[\w'-]+\s+){1,3}?)"
    r"(?:(?:need|have)\s+to\b(?!\s+(?:do|take|follow)\b)|(?P<needs>need)\b(?!\s+to\b))"
    r"|\bmust\s+(?P<must_doer>(?:i|we|you|they|he|she|it)\s+)"
    r"|\b(?:is|are)\s+(?:required|needed|necessary|mandatory|compulsory)\b)",
    re.IGNORECASE)


def _as_should(m: re.Match[str]) -> str:
    """The question word and what follows it, with "do I have to", "does she need", "must we" or
    "is required" read as "I should", "she should have", "we should", "should be"."""
    if m["doer"] is not None:
        return f"{m['asked']}{m['doer']}should" + (" have" if m["needs"] else "")
    if m["must_doer"] is not None:
        return f"{m['asked']}{m['must_doer']}should "
    return f"{m['asked']}should be"


def rewrite(text: str) -> str:
    """``text`` with the expressions above replaced by the word they mean."""
    text = _WH_NECESSITY.sub(_as_should, countries.rewrite(text))
    return _PHRASE_PATTERN.sub(lambda m: m.expand(_REPLACEMENTS[int(str(m.lastgroup)[1:])]), text)


@cache
def _groups() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for line in _GROUPS.strip().splitlines():
        name, words = line.split(":")
        for word in words.split():
            found.setdefault(word, set()).add(name)
    return {word: frozenset(names) for word, names in found.items()}


def senses(word: str, stemmed: str) -> frozenset[str]:
    """The groups ``word`` (as written, lowercased; ``stemmed`` is its stem) belongs to. Only the
    listed words and their inflections: "permitted" is a group's word, the noun "permit" is not.
    The stem may have kept a doubled letter (cancell-ed)."""
    groups = _groups()
    found = groups.get(word) or groups.get(stemmed)
    if found:
        return found
    keys = [stemmed[:-1] if stemmed[-1:] * 2 == stemmed[-2:] else ""]
    # Short words the stemmer leaves whole: filing -> file, fees -> fee.
    keys += [word[:-len(end)] + add for end, add in _ENDINGS if word.endswith(end)]
    return next((groups[key] for key in keys if key in groups), frozenset())


_ENDINGS = (("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("es", ""), ("s", ""))


# British spellings and the American ones the vocabulary also has: (ending, its other spelling).
_SPELLINGS = tuple((re.compile(p), r) for p, r in (
    (r"(?<=\w{3})is(e|ed|es|ing|ation|ations)$", r"iz\1"),  # organise, realising, authorisation
    (r"(?<=\w{2})ys(e|ed|es|ing)$", r"yz\1"),  # analyse, paralysed
    (r"(?<=\w{2})our(s|ed|ing|ite|ites|able|er|ers|hood)?$", r"or\1"),  # colour, favourite, neighbours
    (r"(?<=\w{2})tre(s)?$", r"ter\1"),  # centre, theatre
    (r"(?<=\w)(e|a)ll(ed|ing|er|ers)$", r"\1l\2"),  # cancelled, travelling, totalled
    (r"(?<=\w{2})ogue(s)?$", r"og\1"),  # catalogue, dialogue
    (r"(?<=\w{3})mme(s)?$", r"m\1"),  # programme
    (r"^(lic|def|off)ence(s)?$", r"\1ense\2"),  # licence, defence, offence
    (r"^jewellery$", "jewelry"), (r"^aeroplane(s)?$", r"airplane\1"), (r"^aluminium$", "aluminum"),
    (r"^mould(s|y)?$", r"mold\1"), (r"^pyjamas$", "pajamas"), (r"^ageing$", "aging"),
    (r"^judgement(s)?$", r"judgment\1"),
))
_ANY_SPELLING = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _SPELLINGS))


def one_spelling(word: str, known: Callable[[str], bool]) -> str:
    """``word`` in its American spelling when the vocabulary (``known``) has that spelling, so
    "colour" and "color" are one word; any other word as it is. Words of six letters or more
    only, so that "hours" never becomes "hors"."""
    if len(word) < 6 or not word.isalpha() or not _ANY_SPELLING.search(word):
        return word
    for pattern, repl in _SPELLINGS:
        other = pattern.sub(repl, word)
        if other != word:
            return other if known(other) else word
    return word
