"""Semantic cache safety gates: hand-written traps of every gate type, and paraphrases that must
still be served. The end-to-end cases run the real local embedder at a threshold of 0.5, so
what refuses a trap is the gate, not the similarity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewise.cache import countries, word_senses
from gatewise.cache.answer_kinds import same_question
from gatewise.cache.embedders import LocalEmbedder
from gatewise.cache.gates import analyse, analyse_pair, compare, embedding_text, says_nothing, stem
from gatewise.cache.semantic import REWORDED_COSINE, Scope, SemanticCache
from gatewise.config import SemanticCacheConfig

TRAPS = [
    # values: numbers, amounts, ids, codes, days, colours, age groups
    ("value", "What's the balance of account 55501?", "What's the balance of account 55510?"),
    ("value", "Book a table for 4 people", "Book a table for 6 people"),
    ("value", "Book a table for four people", "Book a table for 6 people"),
    ("value", "How much is £20 in euros?", "How much is £200 in euros?"),
    ("value", "How much is £20 in euros?", "How much is $20 in euros?"),
    ("value", "Where is my refund for order A17-223?", "Where is my refund for order A17-232?"),
    ("value", "Is the office open on Thursday?", "Is the office open on Friday?"),
    ("value", "Can I park here in the morning?", "Can I park here in the evening?"),
    ("value", "Is the red wire live?", "Is the black wire live?"),
    ("value", "What is the ticket price for children?", "What is the ticket price for adults?"),
    # negation
    ("negation", "Should I restart the router?", "Should I not restart the router?"),
    ("negation", "Can I travel with a passport?", "Can I travel without a passport?"),
    ("negation", "Which snacks should I pack for the hike?",
     "Which snacks should I avoid packing for the hike?"),
    ("negation", "Why does my laptop charge?", "Why won't my laptop charge?"),
    # polarity: opposite pairs and negating prefixes
    ("polarity", "How do I enable notifications?", "How do I disable notifications?"),
    ("polarity", "How can I turn on notifications?", "How can I turn off notifications?"),
    ("polarity", "Should I buy Tesla shares now?", "Should I sell Tesla shares now?"),
    ("polarity", "Should I take the pill before eating?", "Should I take the pill after eating?"),
    ("polarity", "How do I increase my credit limit?", "How do I decrease my credit limit?"),
    ("polarity", "How do I add a user to the workspace?", "How do I remove a user from the workspace?"),
    ("polarity", "How do I start the backup?", "How do I stop the backup?"),
    ("polarity", "Is the pool open today?", "Is the pool closed today?"),
    ("polarity", "How do I accept the invitation?", "How do I decline the invitation?"),
    ("polarity", "How do I upgrade my plan?", "How do I downgrade my plan?"),
    ("polarity", "How do I lock the screen?", "How do I unlock the screen?"),
    ("polarity", "Is this browser supported?", "Is this browser unsupported?"),
    ("polarity", "What are the benefits of a Roth IRA?", "What are the drawbacks of a Roth IRA?"),
    ("polarity", "What are the advantages of leasing a car?", "What are the disadvantages of leasing a car?"),
    # "non-" is a negation of the word it sits on
    ("negation", "Is the museum free for residents?", "Is the museum free for non-residents?"),
    ("negation", "What's the price for non-members?", "What's the price for members?"),
    ("negation", "Do you have non-smoking rooms?", "Do you have smoking rooms?"),
    ("polarity", "Is delivery free for orders over £50?", "Is delivery free for orders under £50?"),
    ("polarity", "Does my husband need a visa?", "Does my wife need a visa?"),
    # roles: direction swapped between shared words
    ("role", "Translate this from French to German", "Translate this from German to French"),
    # phrases with one preposition trade places; words in none move
    ("role", "It's 9am in Sydney, what time is it in Paris?",
     "It's 9am in Paris, what time is it in Sydney?"),
    # the asker and someone named, as the one who acts and the owner
    ("role", "Can my husband drive my car on my insurance?",
     "Can I drive my husband's car on his insurance?"),
    ("role", "Can my daughter use my bank card?", "Can I use my daughter's bank card?"),
    ("role", "Will a 65W charger work with my laptop that needs 100W?",
     "Will a 100W charger work with my laptop that needs 65W?"),
    ("role", "How do I transfer money to my savings account?",
     "How do I transfer money from my savings account?"),
    # names and rare words
    ("name", "Who is the mayor of Leeds?", "Who is the mayor of Bristol?"),
    ("name", "Does the plan include Zoom?", "Does the plan include Slack?"),
    ("rare_word", "how do i descale a kettle", "how do i descale a percolator"),
    # question words that ask for a person, a reason or a time
    ("question", "How do I pay my council tax?", "Who has to pay council tax?"),
    ("question", "Why was my parcel returned?", "When was my parcel returned?"),
    ("question", "Who won the match last night?", "What was the score in last night's match?"),
    # content: a qualifier added or swapped
    ("content", "How do I return a gift?", "How do I return a gift card?"),  # same sentence, one word more
    # a negation of what the asker wants, not of what they know, still counts
    ("negation", "How do I cancel my subscription?", "I don't want to cancel my subscription, what do I do?"),
    ("negation", "Why is my laptop so slow?", "Why hasn't my laptop become faster?"),
    ("name", "Translate 'good morning' into Spanish", "Translate 'good morning' into French"),
    # a noun added after a word both say names another thing, a place after it or not
    ("content", "Can I take my dog on the train?", "Is it possible to take my dog food on the train?"),
    # a sentence built anew, but the added word qualifies a word both share
    ("content", "What's the price of a coffee?", "What does a large coffee cost?"),
    ("content", "How much is the plan?", "What does the premium plan cost?"),
    ("content", "Do you offer discounts?", "Do you offer military discounts?"),
    ("content", "How do I reset my password?", "How do I reset my email password?"),
    ("content", "How do I reset my password?", "How do I reset my work password?"),  # the noun
    # synonym groups never stand for a word outside them
    ("content", "How do I get a parking permit?", "How do I display a parking permit?"),
    ("content", "How do I get a parking permit?", "How can I get parking?"),  # the noun is no "can"
    ("content", "Are there offers on laptops?", "Are there laptops?"),  # deals are no "there"
    ("content", "Is parking free at the station?", "Is parking available at the station?"),
    ("content", "Can I bring my passport?", "Do I need to bring my passport?"),  # may is not must
    ("content", "Do I need a visa for Spain?", "Can I get a visa for Spain?"),
    ("question", "Can I take liquids through airport security?",
     "How much liquid can I take through airport security?"),  # a quantity
    ("content", "What time zone is Lisbon in?", "What zone is Lisbon in?"),  # not "when"
    ("rare_word", "How do I sign up for the newsletter?", "How do I sign out of the newsletter?"),
    ("polarity", "How do I log in to the app?", "How do I log out of the app?"),
    ("polarity", "Is the meeting room available?", "Is the meeting room unavailable?"),
    ("polarity", "Do all trains stop at Reading?", "Do some trains stop at Reading?"),
    ("value", "Where is my previous order?", "Where is my next order?"),
    # a number against its unit is still that number and that unit
    ("value", "How long should I roast a 2kg chicken?", "How long should I roast a 3 kg chicken?"),
    ("value", "How long should I roast a 2kg chicken?", "How long should I roast a 2lb chicken?"),
    ("value", "How much is the 10GB plan?", "How much is the 100GB plan?"),
    ("value", "Is the pharmacy open at 9am?", "Is the pharmacy open at 9pm?"),
    ("value", "Is the pharmacy open at 9 am?", "Is the pharmacy open at 9 pm?"),
    # a place named in a question that also has an acronym
    ("name", "When does the IKEA in Croydon open?", "When does the IKEA in Wembley open?"),
    # the rewritten expressions still hold their gates: another country, age, side or qualifier
    ("name", "What's the legal drinking age in the US?", "What's the legal drinking age in the UK?"),
    ("value", "Can an 18-year-old buy alcohol?", "Can a 16-year-old buy alcohol?"),
    ("polarity", "Is the restaurant dog-friendly?", "Are dogs banned from the restaurant?"),
    ("polarity", "Is it legal to park here?", "Is it illegal to park here?"),
    ("content", "Does the hotel have a swimming pool?", "Does the hotel have a heated pool?"),
    ("polarity", "When will my broadband go live?", "When will my broadband be disabled?"),
    # "when travelling" sets a circumstance, "when do I" asks a time; a limit asks a quantity
    ("question", "What do I need when travelling abroad?", "When do I need to travel abroad?"),
    # "where can I find" a thing asks a place; "how many days a week" is no "how long"
    ("question", "Where can I find a pharmacy?", "How do I find a pharmacy?"),
    ("value", "How many days a week is the gym open?", "How long is the gym open?"),
    # how two named things differ is not how long, far or old one of them is
    ("question", "How long is the flight from London to New York?",
     "What's the time difference between London and New York?"),
    ("question", "How old is Prince William?",
     "What's the age difference between Prince William and Prince Harry?"),
    ("polarity", "How do I get rid of the add-on?", "How do I add the add-on?"),
    ("value", "Is the pharmacy open at 9am?", "Is the pharmacy open at 9 in the evening?"),
    ("negation", "Is there a problem with my order?", "Is there no problem with my order?"),
    ("rare_word", "How do I calculate my tax?", "What is my tax?"),  # a method, not the figure
    # ordinals, counts and plurals that name a value still do, once misreadings are gone
    ("value", "Can I see my first invoice?", "Can I see my second invoice?"),
    ("value", "How much is postage on 5 boxes?", "How much is postage on 6 boxes?"),
    ("value", "Can I pay once a week?", "Can I pay twice a week?"),
    ("value", "What rate do you offer on two-year fixes?", "What rate do you offer on five-year fixes?"),
    ("value", "Do I pay first?", "Do I pay last?"),
    # "first" closing a clause is "before", "once" opening one "after": still a side of that pair
    ("polarity", "Can the landlord come in without warning me first?",
     "Can the landlord come in without warning me later?"),
    ("polarity", "What happens once I cancel?", "What happens before I cancel?"),
    # a place in a race or a count is still the ordinal, even closing a clause
    ("value", "Which team finished first?", "Which team finished earlier?"),
    ("value", "Who scored first?", "Who scored earlier?"),
    # "once" before a period is still the count: once this year is not after it
    ("value", "Can I renew my passport once this year?", "Can I renew my passport after this year?"),
    ("value", "Can I change my address once this month?", "Can I change my address after the month?"),
    ("polarity", "What are your opening hours on Sunday?", "What time do you close on Sunday?"),
    ("value", "What are your opening hours on Sunday?", "When are you open on Monday?"),
    # adjectives with an opposite: read in context, an antonym sits as close as a synonym
    ("polarity", "What causes high blood pressure?", "What causes low blood pressure?"),
    ("polarity", "Is it easy to change my tariff?", "Is it difficult to change my tariff?"),
    ("polarity", "How do I make my password stronger?", "Which things make a password weak?"),
    ("polarity", "Why is my phone battery full but not charging?",
     "Why is my phone battery empty but not charging?"),
    ("polarity", "Is the river deep here?", "Is the river shallow here?"),
    # as many negations, of other words
    ("polarity", "Why can I upload photos but not download them?",
     "Why can I download photos but not upload them?"),
    ("negation", "Which plans include roaming but not a hotspot?",
     "Which plans include a hotspot but not roaming?"),
    ("negation", "Can I delete my photos without deleting my albums?",
     "Can I delete my albums without deleting my photos?"),
    ("negation", "The app says my parcel arrived but I didn't get it",
     "The app says my parcel didn't arrive but I got it"),
    # words that trade places in the same sentence
    ("role", "Should I feed my puppy cat food?", "Should I feed my cat puppy food?"),
    ("role", "Is the monthly plan cheaper than the yearly plan?",
     "Is the yearly plan cheaper than the monthly plan?"),
    ("role", "If it's 9am in Sydney, what time is it in Paris?",
     "If it's 9am in Paris, what time is it in Sydney?"),
    ("role", "Will a 45W charger work with a laptop that needs 90W?",
     "Will a 90W charger work with a laptop that needs 45W?"),
    ("polarity", "Where is the entrance to the station?", "Where is the station exit?"),
    ("polarity", "What's the delivery charge for small parcels?",
     "What's the delivery charge for large parcels?"),
    # opposites read alike in context (0.61), so a rebuilt question needs the gate too
    ("polarity", "What's the delivery charge for small parcels?",
     "How much is postage on large parcels?"),
    ("polarity", "Is a big latte dairy-free?", "Is a small latte dairy-free?"),
    ("polarity", "Can I get a full refund?", "Can I get a partial refund?"),
    ("polarity", "Is the gym open to full-time staff?", "Is the gym open to part-time staff?"),
    ("question", "Where can I park at the station?", "How do I park at the station?"),
    # a question of yes or no, or of which ones, against one of how much or how many
    ("question", "How much is a fishing licence?", "Do I need a fishing licence?"),
    ("question", "Do you charge for delivery?", "How much do you charge for delivery?"),
    ("question", "Is there a fee for late returns?", "How much is the late return fee?"),
    ("question", "What documents do I need to open an account?",
     "How many documents do I need to open an account?"),
    # whom to turn to is not who someone is or who may do a thing
    ("question", "Who is my energy supplier?", "How do I contact my energy supplier?"),
    ("question", "Who can report a pothole?", "How do I report a pothole?"),
    # how long a state lasts, or a journey takes, is not when it ends or arrives
    ("question", "How long is the pool closed for?", "When does the pool close?"),
    ("question", "Can I change when I get paid?", "Can I change how much I get paid?"),
    ("question", "Is there a withdrawal limit?", "What's the withdrawal limit?"),  # whether, how much
    ("question", "Who pays for the repairs?", "Which repairs do I pay for?"),
    ("question", "Who is my energy supplier?", "What number is my energy supplier's helpline?"),
    ("question", "How long is the train journey to Leeds?", "When does the train to Leeds arrive?"),
    ("question", "How do I check how much data I have left?", "How much data do I have left?"),
    ("polarity", "What time is check-in?", "What time is check-out?"),
    # in one frame, a word in another's place: "work" and "home" trade places ("at" gave way to
    # "for"); so do "freeze" and "credit" when lifting a freeze is asked for
    ("role", "Can I use my work laptop at home?", "Can I use my home laptop for work?"),
    ("role", "How do I freeze my credit?", "What do I need to do to lift a credit freeze?"),
    # new against used, online against in store
    ("polarity", "Is there a discount for new customers?", "Is there a discount for existing customers?"),
    ("polarity", "How long is the warranty on a new phone?",
     "What warranty do refurbished phones come with?"),
    ("polarity", "Can I get a student discount online?", "Do you offer a student discount in store?"),
    # "on" and "off" after the verb's object
    ("polarity", "How do I turn my phone on?", "How do I turn my phone off?"),
    ("polarity", "How do I turn on dark mode on my iPhone?", "How can I switch dark mode off on my iPhone?"),
    # the same people in each other's parts
    ("role", "How do I stop someone seeing my stories without blocking them?",
     "Someone stopped me seeing their stories without blocking me, how do I stop it?"),
    ("role", "Can I block them?", "Can they block me?"),
    ("role", "Should I tell her about my diagnosis?", "Should she tell me about her diagnosis?"),
    # the asker and someone the other question names, in each other's parts
    ("role", "Can I bring a friend to the gym?", "Can my friend bring me to the gym?"),
    ("role", "Do I need to tell my landlord before I move out?",
     "Does my landlord need to tell me before I move out?"),
    # "out of" says where something is not
    ("content", "Can I leave milk out of the fridge overnight?", "Can I leave milk in the fridge overnight?"),
    ("content", "Is the blue jumper in stock?", "Is the blue jumper out of stock?"),
    ("polarity", "What's the fee for an international transfer?", "What's the fee for a domestic transfer?"),
    ("polarity", "What's the fee for an international transfer?",
     "What's the fee for a transfer within the country?"),
    # not remembering is forgetting, and the opposite of remembering
    ("polarity", "I remember my PIN, how do I change it?", "I can't remember my PIN, how do I change it?"),
    # a question that names no day asks about today, but not about another day or part of it
    ("value", "Is the pharmacy open today?", "Is the pharmacy open tomorrow?"),
    ("value", "What's the weather like today?", "What's the weather like tonight?"),
    ("value", "Is the pharmacy open?", "Is the pharmacy open this morning?"),
    # a rebuilt sentence with a word added before an opposite pair's word or a value
    ("content", "Is it possible for me to cancel my order?", "Can I cancel my business order?"),
    ("content", "What does a child ticket to the zoo cost?",
     "How much is a business child ticket for the zoo?"),
    # what the asker owns on one side is someone else's on the other
    ("role", "Can I share my calendar with my team?", "Can I see my team's calendar?"),
    # how to do a thing against how to find out whether it is done
    ("question", "How do I activate my new card?", "How do I check if my new card is activated?"),
    ("question", "How do I renew my passport?", "How can I find out whether my passport was renewed?"),
    ("question", "What's the next train to Leeds?", "Where does the next train to Leeds leave from?"),
    ("content", "Do I need a visa to visit Japan?", "Do I need a visa to work in Japan?"),
    # stopping a thing from happening, or doing one thing instead of another, denies it
    ("negation", "How do I make my cake rise higher?", "How can I stop my cake from rising so much?"),
    ("negation", "Should I take my dog to the vet for a limp?",
     "Is it fine to rest my dog at home instead of going to the vet for a limp?"),
    # a particle after any verb says which way; inside and outside, merging and splitting,
    # showing what is hidden and hiding it
    ("polarity", "How do I zoom in on my iPhone?", "How can I zoom out on an iPhone?"),
    ("polarity", "How do I turn up the volume on my TV?", "What's the way to turn the TV volume down?"),
    ("polarity", "How do I scroll down on a Mac?", "What's the way to scroll up on a Mac?"),
    ("polarity", "Can I bring my dog inside the restaurant?", "Are dogs allowed outside at the restaurant?"),
    ("polarity", "How do I combine two PDFs into one?", "How do I split a PDF into two files?"),
    ("polarity", "How do I show hidden files on a Mac?", "How can I hide files on my Mac?"),
    # opposite prefixes; a particle said after its object; a condition only one side adds
    ("polarity", "What are the signs my cat is overweight?", "How can I tell if my cat is underweight?"),
    ("polarity", "Is the bathroom upstairs?", "Is there a bathroom downstairs?"),
    ("polarity", "Which foods help raise low blood sugar?",
     "What should I eat to bring my blood sugar down?"),
    ("content", "Do I need any jabs for Kenya?",
     "do i need any vaccinations for kenya if i'm changing planes at nairobi airport"),
    ("polarity", "How do I lower high blood pressure?", "How can I raise low blood pressure?"),
    # a short verb's -ing form takes its side as the verb does
    ("polarity", "How do I sell my shares?", "what's the process for buying shares"),
    # the asker does what someone else does on the other side
    ("role", "What's the least my employer has to put into my pension?",
     "what's the least I must contribute to my pension myself"),
    # verbs made of adjectives, and the verb of change leading
    ("polarity", "How do I tighten a loose guitar string?",
     "my guitar string is too tight, how do I loosen it"),
    ("polarity", "How do I thicken a soup?", "my soup is too thick, how can I thin it"),
    ("polarity", "How do I make my mattress firmer?", "how do I soften a mattress"),
    ("polarity", "How can I widen a doorway?", "What's involved in making a doorway narrower?"),
    # buyer and seller, bride and groom, domestic and international flights
    ("polarity", "Does the seller pay the estate agent's fees?", "as a buyer do I pay the estate agent"),
    ("polarity", "What does the groom's family pay for at a wedding?",
     "what are the bride's family expected to pay for at a wedding"),
    ("polarity", "What ID do I need for a domestic flight?", "what ID do I need to fly internationally"),
    # each the subject on one side; the doer of a condition's verb
    ("role", "Can a teacher refuse to teach a pupil?", "can a pupil refuse lessons from their teacher"),
    ("role", "How do I get a refund from easyJet if I cancel my flight?",
     "what refund do I get if easyJet cancels my flight"),
    # safe and poisonous; a period still to run; what follows from a thing
    ("polarity", "Which plants are safe for cats?", "which plants are poisonous to cats"),
    ("value", "Can I leave 6 months into my 18-month contract?",
     "can i leave my 18 month contract if there are 6 months left"),
    ("question", "What's the minimum repayment on my loan?",
     "what happens if I ever make the minimum repayment on my loan"),
    # a name is no slip of a common word
    ("name", "How do I set an out-of-office reply in Gmail?", "how to set an out of office reply in email"),
    ("polarity", "What's the cheapest way to send money abroad?",
     "What is the most expensive way to send money overseas?"),
    ("question", "Who wrote Wuthering Heights?", "When was Wuthering Heights written?"),
    # a scale or an age group said against another
    ("value", "Should I bake the bread at 200C?", "Should I bake the bread at 200F?"),
    ("value", "How much is a child ticket to the zoo?", "How much is an adult ticket to the zoo?"),
    # their things are not mine
    ("role", "My lodger broke the window, can I keep their deposit?",
     "my landlord says I broke the window, can he keep my deposit?"),
    # giving one thing up for another says which way it goes, as "from" and "to" do
    ("role", "Is there an exit fee for leaving British Gas for Octopus?",
     "If I move from Octopus to British Gas, will I be charged to leave?"),
    ("role", "Should I swap my Mac for a Windows laptop?", "Should I switch from Windows to a Mac?"),
    # a name of several capitalised words is a name, not Title Case writing
    ("name", "Where is Tower Bridge?", "Where is London Bridge?"),
    ("name", "Is the Royal Albert Hall open today?", "Is the Royal Festival Hall open today?"),
    # free and paid, cancelling and renewing, old and new, early and after
    ("polarity", "Is there free wifi on the coach?", "Does the coach have paid wifi?"),
    ("polarity", "How do I cancel my subscription?", "What's the process to renew my subscription?"),
    ("polarity", "Where can I recycle old batteries?", "Where can I recycle new batteries?"),
    ("polarity", "How early should I arrive at the airport?",
     "How long after my flight should I get to the airport?"),
    # what one must be is a minimum, what one may take a maximum
    ("polarity", "How old do I need to be to open a savings account?",
     "What's the maximum age to open a savings account?"),
    ("polarity", "How much paracetamol can I take in a day?",
     "What's the minimum daily dose of paracetamol?"),
    # what one may have, take or do is not what one must
    ("polarity", "What can I bring to my driving test?", "What do I need to bring to my driving test?"),
    ("polarity", "How much can I withdraw from the cash machine?",
     "How much do I have to withdraw from the cash machine?"),
    ("polarity", "Which subjects are compulsory at GCSE?", "Which subjects are optional at GCSE?"),
    # who has to pay stays the doer when "have to" is read as "should"
    ("role", "How much does my employer have to pay into my workplace pension?",
     "how much do I have to contribute to my workplace pension myself"),
    # a price or a time is one value, not a clause ending at its point or colon before "please"
    ("value", "Can I pay £1.50 please?", "Can I pay £1.05 please?"),
    ("value", "Can I check in at 7:15 am please?", "Can I check in at 7:51 am please?"),
    # a sign before a number, or after a short code, is part of the value
    ("value", "Is -40 degrees cold?", "Is 40 degrees cold?"),
    ("value", "Is the temperature -5°C safe for my dog?", "Is the temperature 5°C safe for my dog?"),
    ("value", "Is a temperature of −5 degrees safe?", "Is a temperature of 5 degrees safe?"),
    ("value", "Can O+ blood be given to someone who is A-?", "Can O- blood be given to someone who is A+?"),
    ("value", "What's the difference between C and C++?", "What's the difference between C and C#?"),
    # a fraction in one character is a number
    ("value", "How many grams is ½ cup of sugar?", "How many grams is ¼ cup of sugar?"),
    ("value", "Is 1⅓ cups of rice enough?", "Is 1¾ cups of rice enough?"),
    # emoji, emoticons, operators and currencies no word names are what they are
    ("value", "What does 👍 mean in a text message?", "What does 👎 mean in a text message?"),
    ("value", "What does 👍🏻 mean?", "What does 👍🏿 mean?"),
    ("value", "What does :) mean in a chat?", "What does :( mean in a chat?"),
    ("value", "What does <3 mean in a chat?", "What does </3 mean in a chat?"),
    ("value", "What's 12+4?", "What's 12*4?"),
    ("value", "Is ₹500 a lot of money?", "Is ₩500 a lot of money?"),
    # addresses, files and the like are ids
    ("value", "Why are emails to gmail.com bouncing?", "Why are emails to hotmail.com bouncing?"),
    ("value", "Why is mail to bob@example.com bouncing?", "Why is mail to alice@example.com bouncing?"),
    ("value", "Is https://example.com/a safe to open?", "Is https://example.com/b safe to open?"),
    ("value", "How do I open report.pdf on my phone?", "How do I open report.docx on my phone?"),
    # a greeting, thanks or apology asked about is a word like any other, and has no synonym
    ("content", "How do I say thank you in Japanese?", "How do I say sorry in Japanese?"),
    ("content", "How do I say please in Spanish?", "How do I say thanks in Spanish?"),
    ("content", "How do you spell hello in Russian?", "How do you spell hi in Russian?"),
    # someone else's is never the asker's
    ("role", "How do I reset my password?", "How do I reset someone else's password?"),
    ("role", "Can I drive my car abroad?", "Can I drive my parents' car abroad?"),
    ("content", "How do I reset my password?", "How do I reset a password for someone else?"),
    # quoted words, inline code and a word's capitals are read as written
    ("verbatim", "Is 'Polish' a nationality?", "Is 'polish' a nationality?"),
    ("verbatim", "Is the password Hunter2 strong?", "Is the password hunter2 strong?"),
    ("verbatim", "Is the password 'Hunter2' strong?", "Is the password 'hunter2' strong?"),
    ("verbatim", "What does `git reset --hard` do?", "What does `git reset --soft` do?"),
    ("verbatim", "Translate to German: 'I am here'", "Translate to German: 'I  am  here'"),
    ("verbatim", "Is Polish spoken in Turkey?", "Is polish spoken in Turkey?"),
    # another person by pronoun, another time asked about, another depth of answer
    ("role", "What should I get him for his birthday?", "What should I get her for her birthday?"),
    ("role", "Is he allowed to drive at 16?", "Is she allowed to drive at 16?"),
    ("role", "How do I tell him I'm pregnant?", "How do I tell her I'm pregnant?"),
    ("tense", "Who is the prime minister of the UK?", "Who was the prime minister of the UK?"),
    ("tense", "Who's the CEO of Apple?", "Who was the CEO of Apple?"),
    ("tense", "What is the capital of Kazakhstan?", "What was the capital of Kazakhstan?"),
    ("tense", "Is the museum free?", "Was the museum free?"),
    ("polarity", "Explain recursion simply", "Explain recursion in detail"),
    ("polarity", "Give me a summary of the French revolution",
     "Give me a detailed account of the French revolution"),
    # a country said by its people's name is still one country; a conversion keeps its direction;
    # another maker's product of one name is another product
    ("name", "Do I need a visa for Japan as a US citizen?",
     "Do I need a visa for Japan as a British citizen?"),
    ("name", "Is a French driving licence valid in Spain?", "Is a German driving licence valid in Spain?"),
    ("value", "What's 30 degrees Celsius in Fahrenheit?", "30 fahrenheit in celsius"),
    ("name", "How do I set up Apple Pay with my card?", "How do I set up Google Pay with my card?"),
    ("value", "How much sleep does a five-year-old need?", "How much sleep does a 6 year old need?"),
    ("value", "What's the minimum wage for workers aged 21 and over?",
     "What's the minimum wage for workers aged 18 and over?"),
    ("value", "How many miles is a 5K run?", "How many miles is a 10K run?"),
    ("value", "When did WW1 end?", "When did the Second World War end?"),
    ("negation", "Does the app work offline?", "Does the app work without wifi?"),  # mobile data is online
    # ages and counts in words trading places, temperatures their scales; a language is no
    # country; a nationality is no place one is in
    ("role", "Is it safe for a ten year old to take two pills?",
     "Is it safe for a two year old to take ten pills?"),
    ("role", "Is 80 F hotter than 20 C?", "Is 20 F hotter than 80 C?"),
    ("name", "Is Portuguese similar to Spanish?", "Is Portugal similar to Spain?"),
    ("name", "Are Italian restaurants expensive?", "Are restaurants in Italy expensive?"),
    ("role", "What do Germans think of the British?", "What do the British think of Germans?"),
    ("role", "Should I bake bread at 220 C for 30 minutes?", "Should I bake bread at 30 C for 220 minutes?"),
    ("value", "Does the app work on Android 8 or older?", "Does the app work on Android 8+?"),
    ("value", "What is a two factor ANOVA?", "What is 2FA?"),
    ("name", "I'm Korean but born in the US, do I need a visa to visit Korea?",
     "I'm a Korean citizen but born in the US, do I need a visa to visit Korea?"),
    ("role", "I'm American living in France, do I still pay American tax?",
     "I'm French living in America, do I still pay French tax?"),
    # whose a person or document is, traded with the place: each country said once on each side
    ("role", "Do I need a visa to visit Canada as a UK citizen?",
     "as a canadian, do i need a visa for a trip to the uk"),
    ("role", "Can a citizen of Peru work in Chile?", "Can a citizen of Chile work in Peru?"),
    ("role", "Can a US licence holder drive in France?", "Can a French licence holder drive in the US?"),
    # a conversion the other way, however each side words it: another unit asked for
    ("value", "How do I convert miles to km?", "how to convert km to miles"),
    ("value", "How do I convert Celsius to Fahrenheit?",
     "what's the formula to go from fahrenheit to celsius"),
    ("value", "How do I convert dollars to euros?", "euros to dollars, how?"),
    ("value", "How do I convert ounces to grams?", "grams to ounces conversion?"),
    ("value", "How do I convert feet to meters?", "how to convert meters to feet"),
    ("role", "How do I convert psi to bar for my tires?", "convert bar to psi for tire pressure"),
    ("value", "What is 100 USD in EUR?", "How many USD is 100 EUR?"),
    # which way a thing goes by itself, what happened against what will, both against either,
    # a condition traded with what is asked, inflation against deflation
    ("polarity", "Why did my credit score go up?", "Why did my credit score go down?"),
    ("polarity", "Why did my check engine light come on?", "Why did my check engine light go off?"),
    ("tense", "Did my flight get cancelled?", "Will my flight get cancelled?"),
    ("tense", "Has my visa been approved?", "Will my visa be approved?"),
    ("polarity", "Can I take Benadryl and Zyrtec?", "Can I take Benadryl or Zyrtec?"),
    ("polarity", "Do I need a passport and a visa for India?", "Do I need a passport or a visa for India?"),
    ("role", "Can I give blood if I recently had a tattoo?", "Can I get a tattoo if I recently gave blood?"),
    ("polarity", "How does inflation affect my savings?", "How does deflation affect my savings?"),
    ("polarity", "Why was I overcharged on my bill?", "Why was I undercharged on my bill?"),
    ("role", "I'm ditching Robinhood for Fidelity, how do I transfer my stocks?",
     "How do I transfer my stocks from Fidelity to Robinhood?"),
    ("role", "do us citizens need a visa for the uk", "do uk citizens need a visa for the us"),
    # the asker (or he, she, they) acting on one side, acted on by the other party on the other
    ("role", "My boss fired me", "I fired my boss"),
    ("role", "I owe the IRS money", "The IRS owes me money"),
    ("role", "My girlfriend broke up with me", "I broke up with my girlfriend"),
    ("role", "His boss fired him", "He fired his boss"),
    ("role", "Can you send me the invoice?", "Can I send you the invoice?"),
    # the passive against the active with the same subject; the owner's side of a letting
    ("role", "I was fired by my manager", "I fired my manager"),
    ("role", "Was Instagram bought by Facebook?", "Did Instagram buy Facebook?"),
    ("role", "How do I get hired as a nanny?", "How do I hire a nanny?"),
    ("role", "How do I get paid on Etsy?", "How do I pay on Etsy?"),
    ("content", "How do I rent out my flat?", "How do I rent a flat?"),
    ("role", "Can a child use an adult bus pass?", "Can an adult use a child bus pass?"),
    ("role", "do i need a visa to go from us to canada", "do i need a visa to go from canada to us"),
    # one unit against the same unit uncounted is no licence for a count against nothing
    ("value", "What's the price of a single ticket to Leeds?", "How much does a return to Leeds cost?"),
    # how much, said only on one side
    ("content", "Is it bad to take a lot of ibuprofen?", "Is it bad to take ibuprofen?"),
    # a second time, where one asks whether one may
    ("content", "Can I take the SAT again?", "Can I take the SAT?"),
    ("content", "Can I get another free trial of Spotify?", "Can I get a free trial of Spotify?"),
    ("content", "What happens if I fail a drug test again?", "What happens if I fail a drug test?"),
    ("content", "Can I retake the exam?", "Can I take the exam?"),
    ("role", "How much do I owe in taxes?", "How much am I owed in taxes?"),
    ("role", "my tenant is leaving", "i'm a tenant leaving"),
    ("role", "my landlord wants to raise the rent, what are my rights",
     "as a landlord, what are my rights to raise the rent"),
    ("polarity", "do all branches accept cash", "do any branches accept cash"),
    ("role", "my son is being bullied", "my son is bullying"),
    ("role", "who was taught by aristotle", "who taught aristotle"),
    ("role", "I'd like to change from the 10GB deal to the 30GB one",
     "i want to change from the 30GB deal to the 10GB one"),
    ("role", "can i swap my red jumper for a blue one", "i'd like to exchange my blue jumper for a red one"),
    ("polarity", "how much is an on-peak ticket to leeds", "how much is an off-peak ticket to leeds"),
    ("role", "what does my landlord have to provide me", "what do i have to provide my landlord"),
    ("polarity", "my refund has been processed", "my refund is still pending"),
    # a distance only where one is asked; the states of a country; a letter grade
    ("role", "How do I make a long distance call from the US to the UK?",
     "How do I make a long distance call from the UK to the US?"),
    ("name", "Which of the states have no income tax?", "Does the US have no income tax?"),
    ("rare_word", "what does grade u mean", "what does grade a mean"),
    ("content", "Do I pay tax on income beyond the personal allowance?",
     "Do I pay tax on income within the personal allowance?"),
    ("negation", "How do I find a job without a network?", "How do I find a job offline?"),
    ("name", "How does PLS regression work?", "How does regression work?"),
    ("name", "How many G is the iPhone 15?", "How many grams is the iPhone 15?"),
    ("value", "Can my laptop run 4K video?", "Can my laptop run 4 km video?"),
    ("value", "My car has run 100k, is it worth servicing?",
     "My car has run 100 km, is it worth servicing?"),
    ("name", "Can I get onto a medicine degree with 3 C grades?",
     "Can I get onto a medicine degree with 3 A grades?"),
    ("name", "Is 30 degrees hot?", "Is 30 F hot?"),
    ("negation", "Can I get a phone contract without internet?", "Can I get a phone contract offline?"),
    ("question", "Where do I go to send a parcel?", "How do I send a parcel?"),
    # where a thing is done is how only for dealing with an office
    ("question", "Where do I change trains?", "How do I change trains?"),
    ("question", "Where do I give blood?", "How do I give blood?"),
    # a question of yes or no never answers one of which ones, or of a measure
    ("question", "Can I bring food into the stadium?", "what kinds of food can i take into the stadium"),
    ("question", "Do I need any documents to open an account?",
     "Which documents do I need to open an account?"),
    ("question", "Does this laptop come with a warranty?", "how long is the warranty on this laptop"),
    # "you" doing what the asker would do with them, with the same word of an exchange; a "you" that
    # may be anyone is no party to one
    ("role", "Do you buy used phones?", "Can I buy a used phone from you?"),
    ("role", "Do you buy gold?", "Can I buy gold?"),
    ("polarity", "Can you sell alcohol at 18?", "Can I buy alcohol at 18?"),
    # "only" limits what is asked of ("just" before what it limits); none is not some
    ("polarity", "Does the warranty cover water damage?", "Does the warranty cover only water damage?"),
    ("polarity", "Is the sale just online?", "Is the sale online?"),
    ("polarity", "Some of my emails aren't syncing", "None of my emails are syncing"),
    # whether there is one against what it is; advice against what may be; which of two things
    ("question", "Is there a fee to transfer my number?", "What is the fee to transfer my number?"),
    ("question", "Is there a deadline for returns?", "When is the deadline for returns?"),
    ("question", "Does Spirit charge for carry-on bags?", "What does Spirit charge for carry-on bags?"),
    ("question", "Should I refinance my mortgage?", "Can I refinance my mortgage?"),
    ("question", "Which hospital is the pharmacy at?", "Which pharmacy is at the hospital?"),
    ("tense", "Did the bank approve my loan?", "Would the bank approve my loan?"),
    # "non-" on another of the same words; rates, doers and passives turned round
    ("negation", "Can non-members use the member entrance?", "Can members use the non-member entrance?"),
    ("role", "Can I pay my annual premium monthly?", "Can I pay my monthly premium annually?"),
    ("role", "I was sued by my landlord", "My landlord was sued by me"),
    ("role", "Who was the 16th president succeeded by?", "Who did the 16th president succeed?"),
    ("role", "Is the company that makes Oreos owned by Nabisco?",
     "Does the company that makes Oreos own Nabisco?"),
    ("role", "How much do I owe my landlord if I move out early?",
     "How much does my landlord owe me if I move out early?"),
    # what was not yet done, done, with the next step not yet; the asker as the doer of a statement
    ("negation", "My order hasn't shipped yet", "My order shipped but hasn't arrived yet"),
    ("role", "The airline cancelled my flight", "I cancelled my flight with the airline"),
    ("question", "Does Costco have a membership fee?", "What is Costco's membership fee?"),
    # what was done against what will, might or would be; an allowance against a price; another
    # one needed; what is free against a fee
    ("tense", "My flight was cancelled, what are my options?",
     "My flight might be cancelled, what are my options?"),
    ("tense", "I was charged twice for my subscription.", "Will I be charged twice for my subscription?"),
    ("tense", "My card was declined at the store, why?", "Why would my card be declined at the store?"),
    ("question", "How much can I send with PayPal?", "How much does it cost to send with PayPal?"),
    ("content", "Do I need another vaccine before traveling to Kenya?",
     "Do I need a vaccine before traveling to Kenya?"),
    ("polarity", "Is the app free?", "Is there a fee for the app?"),
    ("polarity", "Is there free parking at the station?", "Does the station have paid parking?"),
    ("tense", "The store charged me twice.", "Will the store charge me twice?"),
    ("tense", "My identity was stolen.", "Can my identity be stolen?"),
    ("tense", "My bank charged me an overdraft fee.", "Does my bank charge overdraft fees?"),
    ("tense", "My driver's license got suspended, can I still drive to work?",
     "My driver's license might get suspended, can I still drive to work?"),
    ("question", "Is there a fee for checked bags on Southwest?",
     "How much is the fee for checked bags on Southwest?"),
    ("question", "Should I sell my house now?", "Am I able to sell my house now?"),
    ("question", "Which school is my son enrolled at?", "Which son is enrolled at my school?"),
    ("question", "How much cash can I bring on a flight to the US?",
     "How much does it cost to bring cash on a flight to the US?"),
    ("role", "Which company was acquired by Microsoft in 2016?", "Which company acquired Microsoft in 2016?"),
    ("polarity", "Is delivery free?", "Do you charge for delivery?"),
    ("content", "Should I take another pregnancy test?", "Should I take a pregnancy test?"),
    # "do you" around a verb of knowing is no party to the exchange; "nothing" is none
    ("polarity", "Do you know if I can buy a used phone?", "Can I sell a used phone?"),
    ("polarity", "Nothing in my cart is saving", "Some things in my cart aren't saving"),
    ("polarity", "Is parking free?", "Is parking chargeable?"),
    ("tense", "My landlord took my deposit", "My landlord will take my deposit"),
    ("tense", "I've been charged twice for my order", "I might be charged twice for my order"),
    # a nationality in a question of a visa is a citizenship, which the other does not state
    ("content", "I'm Indian, do I need a visa for the US?", "I'm in India, do I need a visa for the US?"),
]

PARAPHRASES = [
    # not knowing how or whether is asking it; "how does one" is "how do you"
    ("How do I cancel my subscription?", "I don't know how to cancel my subscription"),
    ("How do I cancel my subscription?", "Any idea how I can cancel my subscription?"),
    ("Is my flight delayed?", "I'm not sure whether my flight is delayed"),
    ("How do I cancel my subscription?", "How does one cancel a subscription?"),
    ("What is the capital of Australia?", "I always forget, what's the capital of Australia?"),
    ("What is the capital of Australia?", "Name the capital of Australia"),
    ("Can I bring my dog to the office?", "Do you mind if I bring my dog to the office?"),
    ("Can I bring my dog to the office?", "Just checking - can I bring my dog to the office?"),
    ("Why is my laptop so slow?", "Any reason my laptop is so slow?"),
    ("How does photosynthesis work?", "Help me understand photosynthesis"),
    ("How much does a passport cost?", "What do I pay for a passport?"),
    ("How much does a passport cost?", "How expensive is a passport?"),
    ("Where is the nearest pharmacy?", "What's the closest pharmacy to here?"),
    ("When does the store open?", "How early does the store open?"),
    ("Translate 'good morning' into Spanish", "What's 'good morning' in Spanish?"),
    ("Why is my laptop so slow?", "Why has my laptop become so slow lately?"),
    ("What is the capital of Australia?", "Hey, quick one - what's the capital city of Australia?"),
    # a verb added after a word both say, told by the particle or object after it
    ("Does travel insurance cover cancelled flights?",
     "If my flight gets cancelled, will travel insurance pay out?"),
    # the place asked about, its capacity, a fare's class, being on a medicine, bringing and taking
    ("Is the museum free?", "Is entry to the museum free?"),
    ("How many people can the meeting room hold?", "What's the capacity of the meeting room?"),
    ("How much is it to fly in economy class from London to Paris?",
     "What's the economy fare from London to Paris?"),
    ("Can I drink alcohol while taking antibiotics?", "Is it safe to drink alcohol on antibiotics?"),
    ("What do I need to bring to my driving test?", "What should I take to my driving test?"),
    # what one has to wait, give or bring is what one should: the waiting time, the notice period
    ("What's the waiting time for a GP appointment?", "How long do I have to wait for a GP appointment?"),
    ("How much notice do I need to give before moving out?",
     "How much notice must I give before I move out?"),
    ("What documents do I need to open a bank account?",
     "Which documents are required to open a bank account?"),
    ("How do I reset my password?", "how do i reset my password"),
    ("Can I use my partner's card to pay?", "Is it OK to pay with my partner's card?"),  # one owner
    ("How Do I Cancel My Netflix Subscription?", "how do i cancel my netflix subscription"),  # Title Case
    ("Should I leave Vodafone for EE?", "Should I switch from Vodafone to EE?"),  # the same way
    ("How can I tell if my eggs are fresh?", "How do I know whether my eggs are still fresh?"),
    ("Do I need a visa to visit the UK?", "Do I need a visa to travel to the United Kingdom?"),
    ("What's the next train to Leeds?", "When is the next train to Leeds?"),  # its time
    ("How do I stop my phone overheating?", "How can I keep my phone from overheating?"),
    ("Can I pay by card instead of cash?", "Can I pay by card rather than cash?"),
    ("How can I speed up my laptop?", "My laptop is really slow, how do I make it faster?"),
    ("How do I show hidden files on a Mac?", "How can I see hidden files on my Mac?"),
    ("Is there seating inside?", "Is there indoor seating?"),
    ("How do I bring my blood pressure down?", "How can I lower my blood pressure?"),
    ("How do I lower high blood pressure?", "How can I reduce high blood pressure?"),
    ("How do I tighten a loose bike chain?", "my bike chain is loose, how can I tighten it?"),
    ("Is breakfast included in the room rate?", "Does the room rate include breakfast?"),
    ("What happens if I miss a payment?", "What if I miss a payment?"),
    # a comparison asked both ways; a distance between two places is no comparison
    ("What's the difference between baking soda and baking powder?",
     "How is baking powder different from baking soda?"),
    ("How far is Leeds from York?", "What's the distance between Leeds and York?"),
    ("Are lilies toxic to cats?", "Are lilies poisonous to cats?"),
    ("How do I cancel Netflix?", "How do I cancel Netflx?"),  # a slip of a name, in the other name
    # what one side leaves to be understood: an adult, the scale of degrees
    ("How much paracetamol can I take in a day?",
     "What's the maximum daily dose of paracetamol for an adult?"),
    ("Should I bake the bread at 200C?", "Should I bake the bread at 200 degrees?"),
    # the least of one side is the other; "check in" and "departure" are not one pair
    ("What's the cheapest way to send money abroad?",
     "What is the least expensive way to send money overseas?"),
    ("Can I take my deposit out early?", "Can I take out my deposit early?"),
    # a person named by what they did answers "who"; "when" within a question of yes or no
    ("Who wrote Wuthering Heights?", "Wuthering Heights author?"),
    ("Can I take ibuprofen while pregnant?", "Can I take ibuprofen when pregnant?"),
    ("How can I get my electricity bill down?", "How do I reduce my electricity bill?"),
    # words of one side of an opposite pair: a pause, early and before, a minimum age, opening
    ("Can I pause my gym membership for 1 month?", "Is it possible to freeze my gym membership for a month?"),
    ("How early should I arrive at the airport?", "How long before my flight should I get to the airport?"),
    ("What's the minimum age to open a savings account?",
     "How old do I need to be to open a savings account?"),
    ("How much paracetamol can I take in a day?", "What's the maximum daily dose of paracetamol?"),
    ("What time does check-in open at the hotel?", "At what time does hotel check-in start?"),
    ("How do I cancel my order?", "Hi! How do I cancel my order? Thanks a lot"),
    ("How do I update my billing address?", "How do I updte my billing adress?"),
    ("Where can I buy a gift card?", "Where can I purchase a gift card?"),
    ("Is breakfast included for children?", "Is breakfast included for kids?"),
    ("What are your opening hours on Saturday?", "What are your opening hours on saturdays?"),
    ("How can I turn off notifications?", "How do I switch off notifications?"),
    ("I can't log in to my account", "I cannot log in to my account"),
    ("Why can't I log in?", "Why am I not able to log in?"),  # one negation, of the same words
    ("The app doesn't open, why?", "Why doesn't the app open?"),
    # words joined by "and" or "or" in another order, a sentence in another voice
    ("Is the gym open on Saturday and Sunday?", "Is the gym open on Sunday and Saturday?"),
    ("Can I pay by card or cash?", "Can I pay by cash or card?"),
    ("Do I need a visa to visit Japan?", "Is a visa required to visit Japan?"),
    ("Do all the rooms have a kettle?", "Do the rooms have a kettle?"),
    # a passive moves the doer behind "by", and "you" plays no part that tells who does what
    ("Can they see my location?", "Can my location be seen by them?"),
    ("Can you send me my invoice?", "Can you send my invoice to me?"),
    ("Can I add my partner to my policy?", "Can my partner be added to my policy?"),
    ("Can I return it in store?", "Can I return it in a shop?"),
    # in a question of method, what a verb of finding out finds is no answer asked for
    ("How do I check how much data I have left?", "How can I see my remaining data?"),
    # "the easiest way to" asks how to
    ("How can I contact support?", "What's the easiest way to contact support?"),
    # "what's causing" asks why
    ("Why does my car make a noise?", "What is causing the noise in my car?"),
    # "what year", "what date" ask when
    ("What year was the castle built?", "When was the castle built?"),
    ("What date does term start?", "When does term start?"),
    # the day a question is asked is the day one that names no day asks about
    ("What time is the last train to Bristol?", "When's the last train to Bristol tonight?"),
    ("Is the pharmacy open today?", "Is the pharmacy open?"),
    # a fraction in one character is the number in words, and a greeting that opens a question
    # says nothing, with a comma or without
    ("How many grams is half a cup of sugar?", "How many grams is ½ cup of sugar?"),
    ("How do I cancel my order?", "hey how do I cancel my order?"),
    # capitals say nothing in a question that writes no name with one, nor at a sentence's start
    ("Do I need a visa for Japan?", "do i need a visa for japan"),
    ("Who wrote Wuthering Heights?", "Wuthering Heights, who wrote it?"),
    # a quoted span found as written on the other side, and a word asked about said on both
    ("Who wrote 'Stairway to Heaven'?", "Who wrote Stairway to Heaven?"),
    ("How do I say thank you in Japanese?", "How do you say thank you in Japanese?"),
    # a side's only rate stands anywhere in the sentence
    ("How many times a week should I work out?", "How often should I exercise each week?"),
    # the passive read past the phrase that says which one
    ("Can I change the name on my plane ticket?", "can the name on my flight ticket be changed?"),
    # a nationality given in a question of a visa is the asker's citizenship
    ("Do I need a visa to visit Japan as a UK citizen?",
     "I'm British and planning a trip to Japan, do I need a visa?"),
    # what is bad for someone harms them; the fastest way to do a thing is doing it quickly
    ("Is chocolate bad for cats?", "is chocolate harmful to cats?"),
    ("How do I soften butter quickly?", "fastest way to soften butter?"),
    ("Is the sale only online?", "Is the sale just online?"),
    # a polite opener tells of no time
    ("I was wondering if you sell gift cards", "Do you sell gift cards?"),
    ("Would you be able to tell me if my payment went through?", "Did my payment go through?"),
    ("Have we got a meeting on Wed?", "Do we have a meeting on Wed?"),
    ("What is the security deposit for renting a car?",
     "How much is the security deposit for renting a car?"),
    ("Do I need a visa to visit Japan as a UK citizen?",
     "I've got a British passport. Do I need a visa for a trip to Japan?"),
    ("Do I just need my ID?", "Do I only need my ID?"),
    # a "just" of time limits nothing
    ("How do I get a new debit card? Mine expired", "how do i get a new debit card, mine just expired"),
    ("My phone stopped charging.", "My phone won't charge anymore."),
    ("Is there no fee for ATM withdrawals?", "Are ATM withdrawals free?"),
    ("I'm British, can I work in Ireland?", "Can British citizens work in Ireland?"),
    # one thing not yet done, said of the asker or of the thing
    ("I haven't received my refund yet.", "My refund hasn't arrived yet."),
    ("None of my emails are syncing", "My emails aren't syncing at all"),
    ("What's the price for non-members?", "What's the price if I'm not a member?"),
    # working out for the body's sake is exercise
    ("How often should I work out to lose weight?", "how often should I exercise to lose weight?"),
]

# Paraphrases whose words the gates match by themselves, leaving nothing to word vectors.
SAME_WORDS = [
    # "where can I see / find / download ..." asks how to, as "where can I find out" does
    ("Where can I see my pension details?", "How do I see my pension details?"),
    ("Where can I download my bank statements?", "How do I download my bank statements?"),
    ("Where can I find my account number?", "How can I find my account number?"),
    # submitting is sending; a jab is a shot; a boss an employer
    ("How do I submit a meter reading?", "How can I send you a meter reading?"),
    ("Where can I get a flu jab?", "Where can I get a flu shot?"),
    ("Can my employer read my work emails?", "Can my boss read my work emails?"),
    # a particle after the verb's object is the particle of the verb
    ("How do I turn off dark mode?", "How do I switch dark mode off?"),
    ("How do I turn my phone on?", "How do I turn on my phone?"),
    ("Can I switch to paperless billing on the app?", "Can I switch to paperless billing in the app?"),
    # a compound with a particle is its words ("check-in", "top-up")
    ("Can I change my seat after check-in?", "Can I change my seat after I check in?"),
    ("How do I top up my travel card?", "How do I top-up my travel card?"),
    # synonym groups and the expressions read as one word
    ("How do I obtain a parking permit?", "How do I get a parking permit?"),
    ("How do I amend my delivery address?", "How do I update my delivery address?"),
    ("What time does the post office open?", "When does the post office open?"),
    ("What are your opening hours on Sunday?", "When are you open on Sunday?"),  # a schedule, no count
    ("How much is a gym day pass?", "What's the price of a gym day pass?"),
    ("How do I sign up for the loyalty scheme?", "How do I register for the loyalty scheme?"),
    ("Is there Wi-Fi in the lounge?", "Is Wi-Fi available in the lounge?"),
    ("How do I contact the council about my bins?", "How do I get in touch with the council about my bins?"),
    ("When will I receive my bonus?", "When will I get my bonus?"),
    ("How do I check if I'm entitled to the Winter Fuel Payment?",
     "What's the way to check whether I'm eligible for the Winter Fuel Payment?"),
    ("What's the reason my card payment failed?", "Why did my card payment fail?"),
    # a deadline is asked for as a "when"
    ("When is my council tax payment due?", "What is the deadline for my council tax payment?"),
    # a verb and its noun
    ("What is the fee to cancel my gym membership?", "What is the cancellation fee for my gym membership?"),
    # a verb and its noun, made with another ending (admit/admission, pay/payment)
    ("What GPA do I need for admission?", "What GPA do I need to be admitted?"),
    ("Is there a fee for late payment?", "Is there a fee if I pay late?"),
    ("When will you decide on my application?", "When will I get a decision on my application?"),
    ("How do I complain about a delayed train?", "How do I make a complaint about a delayed train?"),
    # British and American spellings, a misspelt plural of a value, two words for an earlier one
    ("Where is the nearest theatre?", "Where is the nearest theater?"),
    ("Why was my card payment cancelled?", "Why was my card payment canceled?"),
    ("Why is my train so late in the mornings?", "Why is my train so late in the mornigns?"),
    ("How do I roll back to the previous version?", "How do I roll back to an earlier version?"),
    # a number against its unit, "am" that is no time, "non-" read as "not"
    ("How long should I roast a 2kg chicken?", "How long should I roast a 2 kilo chicken?"),
    ("Is the pharmacy open at 9am?", "Is the pharmacy open at 9 am?"),
    ("Is there a fee to leave an 18-month contract?", "Is there a fee to leave an 18 month contract?"),
    ("Can I pay £30/month for broadband?", "Can I pay £30 a month for broadband?"),
    ("How much luggage am I allowed to take?", "How much luggage can I take?"),
    ("What's the price for non-members?", "What's the price if I'm not a member?"),
    # verbs that only frame the question, and a compound written with or without its hyphen
    ("Do you offer gift wrapping?", "Do you do gift wrapping?"),
    ("Does this printer support double-sided printing?", "Can this printer do double-sided printing?"),
    ("Is the cafe dog-friendly?", "Is the cafe dog friendly?"),
    # other names of one country, an age written two ways, "legal" as "allowed"
    ("What's the legal drinking age in the US?", "What's the legal drinking age in America?"),
    ("Can an 18-year-old buy alcohol in the UK?", "Is it legal to buy alcohol at 18 in the UK?"),
    ("How much sleep does a 5 year old need?", "How much sleep does a five-year-old need?"),
    ("Do I need a visa to visit Japan as a US citizen?",
     "As an American citizen, do I need a visa to visit Japan?"),
    ("Do I need a visa to visit Canada as a UK citizen?", "Do UK citizens need a visa for Canada?"),
    # a conversion said two ways, the same way round
    ("How do I convert dollars to euros?", "how to change dollars into euros"),
    ("Why did my credit score go up?", "Why has my credit score increased?"),
    ("Will my flight be cancelled?", "Is my flight going to be cancelled?"),
    ("Can I take Benadryl and Zyrtec together?", "Is it safe to take Benadryl and Zyrtec together?"),
    ("Can I eat sushi if I'm pregnant?", "If I'm pregnant, can I eat sushi?"),
    ("My manager fired me, can I claim benefits?", "I was fired by my manager, can I claim benefits?"),
    ("Is the shop closed on Sundays?", "Does the shop close on Sundays?"),
    ("thanks a lot, how do I reset my password", "how do I reset my password"),
    ("how do i add a user to my account", "how can i add another user to my account"),
    ("can you resend the link", "can you send the link again"),
    ("how do I get my knife sharp again?", "how do I get my knife sharp?"),
    ("why am I getting so many emails", "why am I getting a lot of emails"),
    ("how far is london from paris", "how far is paris from london"),
    ("why did the dollar go down", "why did the dollar fall"),
    ("did my payment go through", "has my payment gone through"),
    ("do I need a visa to visit the US", "do i need a visa to visit the states"),
    ("how do u make bread", "how do you make bread"),
    ("can I travel w/o a passport", "can I travel without a passport"),
    ("Is there any fee for cancelling?", "Is there a fee for cancelling?"),
    ("As a business owner, can I deduct my business expenses?",
     "Can I deduct my business expenses as a business owner?"),
    ("Is it cheaper to fly from London to Paris or from Paris to London?",
     "Is it cheaper to fly from London to Paris or from Paris to London?"),
    ("Thank you very much, how do I lower my bill?", "Thanks, how do I lower my bill?"),
    ("Are flights to Paris cheaper on Tuesday or Wednesday?",
     "Are flights to Paris cheaper on Wednesday or Tuesday?"),
    ("What are off peak train times?", "What are off-peak train times?"),
    ("do us citizens need a visa for japan", "do american citizens need a visa for japan"),
    ("How far is it from Paris to Lyon?", "how far is Lyon from Paris"),
    ("How do I renew my UK passport online?", "How do I renew my British passport online?"),
    ("What's the minimum wage for workers aged 21 and over?",
     "What's the minimum wage for workers aged 21+?"),
    # a temperature, a weight, a race and a war said two ways; other names of one product
    ("What is 180 C in Fahrenheit?", "What is 180 degrees celsius in fahrenheit?"),
    ("How many ounces are in a pound?", "How many oz are in 1 lb?"),
    ("How many miles is a 5K run?", "How many miles is a five kilometre run?"),
    ("When did the Second World War end?", "When did WW2 end?"),
    ("How do I turn on two-factor authentication?", "How do I turn on 2FA?"),
    ("How do I take a screenshot on Windows 11?", "How do I take a screenshot on win 11?"),
    # where one deals with an office is how; short forms
    ("How do I give you my meter reading?", "Where do I give you my meter reading?"),
    ("How many grams are in a cup of flour?", "How many g in a cup of flour?"),
    ("How do I restart my router?", "How do I restart my router pls"),
    # expressions read as the word they mean, and compounds as their head
    ("Are dogs allowed in the restaurant?", "Is the restaurant dog-friendly?"),
    ("When will my broadband be activated?", "When will my broadband go live?"),
    ("Does the hotel have a pool?", "Does the hotel have a swimming pool?"),
    ("What's the excess on my contents insurance?", "What is the excess on my contents insurance policy?"),
    ("What's the excess on my pet insurance?", "On my pet insurance plan, what is the excess?"),
    # an allowance asks "how much"; a misspelt question word is still that word
    ("What's the baggage allowance?", "How much luggage am I allowed?"),
    ("What is the baggage allowance for economy?", "What is the bagage allowence for economy?"),
    # "Calculate" opening a request asks what "What's" does
    ("What's 15% of 200?", "Calculate fifteen percent of 200"),
    # "how many days does it take" asks how long; "where can I find out" how to check
    ("How long does delivery take?", "How many days does delivery take?"),
    ("How do I check my credit score?", "Where can I find out my credit score?"),
    # more words and expressions of one meaning
    ("How do I get rid of my old sofa?", "How do I remove my old couch?"),
    ("What should I do if my bank card is lost?", "What should I do if my bank card is missing?"),
    ("Is the pharmacy open at 9am?", "Is the pharmacy open at 9 in the morning?"),
    ("How much luggage am I allowed when flying?", "What's the baggage allowance when flying?"),
    ("I forgot my Gmail password", "I can't remember my Gmail password"),
    # "under" a scheme is by it, not below it
    ("Are your electricians Part P registered?", "Are your electricians registered under Part P?"),
    # idioms read as the word they mean, units and numbers written two ways, two spellings of a word
    ("What does APR stand for?", "What is APR short for?"),
    ("How do I activate my new SIM card?", "What do I need to do to activate my new SIM card?"),
    ("How do I tell you I'm moving house?", "How can I let you know I'm moving home?"),
    ("Can I pay with PayPal?", "Do you accept PayPal?"),
    ("Is it possible to pay by bank transfer?", "Can I pay by bank transfer?"),
    ("How do I remove someone from the group chat?", "How can I kick someone out of the group chat?"),
    ("How do I order a new chequebook?", "How can I order a new checkbook?"),
    ("Is there a car park at the station?", "Is there a parking lot at the station?"),
    ("How do I restart my router?", "How can I reboot my router?"),
    ("How long do I roast a 2 kg chicken?", "How long should a two-kilogram chicken be roasted?"),
    ("How long is the cooling-off period?", "How long does the cooling-off period last?"),
    ("Can I get a statement for the last 3 months?", "Can I get a statement for the past three months?"),
    ("How long does an international transfer take?", "How much time does an international transfer take?"),
    ("What's the Wi-Fi password?", "What is the password for the WiFi?"),
    # a charge is a fee, and "how much is" asks a price
    ("What's the fee for a late payment?", "How much is the late payment charge?"),
    # a kind of answer asked with a question word and named in words: a quantity and its measure
    # or limit, a time, a place, a cause and a signal's meaning, whom to contact, a parcel's progress
    ("How much can I withdraw from an ATM in a day?", "What's my daily ATM withdrawal limit?"),
    ("How much notice do I need to give my landlord?", "What notice period do I need to give my landlord?"),
    ("When will my new card arrive?", "How long will it take for my new card to arrive?"),
    ("Where is your head office?", "What's the address of your head office?"),
    ("Where can I park near the hospital?", "Is there parking near the hospital?"),
    ("Where is the nearest cash machine?", "Is there a cash machine near here?"),
    ("What does the orange light on my router mean?", "Why is the light on my router orange?"),
    ("What does error code E4 on my washing machine mean?",
     "Why is my washing machine showing error code E4?"),
    ("How do I report a pothole on my road?", "Who do I tell about a pothole on my road?"),
    ("How do I contact customer services?", "Who do I contact in customer services?"),
    ("Who should I call if my boiler breaks?", "What number do I call if my boiler breaks?"),
    ("Who issues passports in the UK?", "Which organisation issues UK passports?"),
    ("Where's my refund?", "What's happened to my refund?"),
    # a compound said as its head "for" the other word; "how do I know if" asks how to check
    ("Where can I get a COVID test?", "Where can I get tested for COVID?"),
    ("How do I know if my flight is delayed?", "How can I check if my flight is delayed?"),
    ("When will I get my refund?", "How long does a refund take?"),
    ("At what age can my child start school?", "When can my child start school?"),
    ("Can my partner be added to my car insurance?", "Can I add my partner to my car insurance?"),  # passive
    # "so much" asks no amount; a limit in a question of yes or no asks for none; "when I ..." after
    # the question's words is a condition; the wait until something arrives is how long it takes
    ("Why is my phone bill so high?", "Why is my phone bill so much higher?"),
    ("What happens to my number when I switch network?", "What happens to my number if I switch network?"),
    ("How long does a bank transfer take?", "How long until a bank transfer arrives?"),
    ("Why won't my laptop turn on?", "My laptop won't turn on, what could be wrong?"),
    ("Is the park open at night?", "Is the park open after dark?"),
    # hedges, "take" in a question of how long, a phrase moved with its preposition, idioms
    ("How long is the flight to Rome?", "How long does the flight to Rome take?"),
    ("What are the symptoms of flu?", "What are the typical symptoms of flu?"),
    ("When does the sale start?", "When does the sale officially start?"),
    ("Is parking free at the hospital?", "Is parking at the hospital free of charge?"),
    ("Is the train running late?", "Is the train delayed?"),
    ("How do I cancel my subscription?", "What steps do I need to take to cancel my subscription?"),
    ("Do I need a visa for Canada?", "Do I need a visa to travel to Canada?"),
    ("What does APR mean?", "What's APR?"),
    # an age said three ways
    ("What's the minimum wage for a 21-year-old?", "What's the minimum wage at age 21?"),
    ("How much is a ticket for a 65 year old?", "How much is a ticket for someone aged 65?"),
]

# Word for word too, though their embeddings are further apart (0.7 to 0.8) than the hit test asks.
SAME_WORDS_FURTHER = [
    # a browser's cached files are its cache
    ("How do I delete my browser cache?", "How do I delete the cached files in my browser?"),
    # money added to a card tops it up; charging extra is a fee
    ("How do I add money to my travel card?", "How can I top up my travel card?"),
    ("Is there a fee for paying by credit card?", "Do you charge extra if I pay with a credit card?"),
    # a home's size said two ways; a setting changed on one's account
    ("How much is a 1 bed flat in Leeds?", "How much is a one-bedroom flat in Leeds?"),
    ("How do I update my address?", "How do I update my address on my account?"),
    # what a plan or a price covers it includes
    ("Does my plan include roaming in Europe?", "Does my plan cover roaming in Europe?"),
    # a word and its clipped form
    ("How do I get a copy of my birth certificate?", "How do I get a copy of my birth cert?"),
    ("Where can I find info about student visas?", "Where can I find information about student visas?"),
    ("How do I turn off ads?", "How do I turn off adverts?"),
    # a battery changed is replaced; a cheque paid in is deposited
    ("How do I change the battery in my smoke alarm?", "How do I replace the battery in my smoke alarm?"),
    ("Can I deposit a cheque in the app?", "Can I pay in a check in the app?"),
    # bringing something back returns it; "anymore" says nothing of the question
    ("Can I return something I bought online?", "Can I bring something back I bought online?"),
    ("Can I get a refund if I don't have the receipt?",
     "Can I get a refund if I don't have the receipt anymore?"),
    ("Where can I find my payslip?", "Where can I find my pay stub?"),
    ("How do I unsubscribe from the newsletter?", "How can I stop receiving your newsletter?"),
    ("Who do I contact about a power cut?", "Who should I contact about a power outage?"),
    ("What is 180°C in Fahrenheit?", "What's one hundred and eighty degrees Celsius in Fahrenheit?"),
    # a kind of answer asked with a question word and named in words
    ("What's the maximum weight for cabin baggage?", "How heavy can my cabin bag be?"),
    ("What's the weight limit for parcels?", "How heavy can a parcel be?"),
    ("What's the check-in time?", "When can I check in?"),
    ("How long does delivery take?", "When will my delivery arrive?"),
    # the same time asked about, the same person, "simply" as merely
    ("Who is the prime minister of the UK?", "Who's the UK prime minister?"),
    ("Did the package arrive?", "Has the package arrived?"),
    ("I was charged twice, how do I get a refund?", "I have been charged twice, how do I get a refund?"),
    ("Is he allowed to drive at 16?", "Can he drive at 16?"),
    ("How can I simply reset my password?", "How do I reset my password?"),
    ("Why was my card declined?", "What's the reason my card was declined?"),
]

# The same question built anew: some common words differ, and the embeddings agree closely.
REWORDED = [
    ("Does the gym have a sauna?", "Is there a sauna in the gym building?"),
    ("Are you open on Saturday?", "Is your store open on Saturday?"),  # open says what is the case
    ("Does the hotel have parking?", "Is there parking at the hotel site?"),
    ("Is the 10:40 bus running?", "What's the status of the 10:40 bus?"),
    # the team that runs a thing is whom its name stands for
    ("How do I contact support?", "How do I get in contact with your support team?"),
    # an indirect question of what something is asks what it is
    ("I'd like to know the population of London", "How many people live in London?"),
]


@pytest.mark.parametrize(("gate", "cached", "new"), TRAPS)
def test_each_trap_is_refused_by_its_gate(gate: str, cached: str, new: str) -> None:
    assert compare(analyse(cached), analyse(new)).refused == gate
    assert compare(analyse(new), analyse(cached)).refused == gate  # whichever side was cached


def test_a_pronoun_on_one_side_only_is_no_other_person() -> None:
    """A pet or a named person may be "him" on one side and nobody on the other."""
    verdict = compare(*analyse_pair("Is chocolate poisonous to dogs?",
                                    "My dog just ate some chocolate, is that dangerous for him?"))
    assert verdict.refused != "role"


@pytest.mark.parametrize(("cached", "new"), PARAPHRASES + SAME_WORDS)
def test_paraphrases_pass_the_lexical_gates(cached: str, new: str) -> None:
    assert compare(analyse(cached), analyse(new)).refused is None


@pytest.mark.parametrize(("cached", "new"), SAME_WORDS + SAME_WORDS_FURTHER)
def test_synonyms_spellings_and_expressions_match_word_for_word(cached: str, new: str) -> None:
    for a, b in ((cached, new), (new, cached)):
        verdict = compare(analyse(a), analyse(b))
        assert verdict.refused is None
        assert verdict.unmatched_cached == verdict.unmatched_new == frozenset()


def test_only_a_short_turn_can_say_nothing() -> None:
    """An earlier turn is the caller's, of any length: a long one is not read word by word."""
    assert says_nothing("Thanks. What would you like to know about it?")
    assert not says_nothing("Thanks. What would you like to know about it? " * 100)


def test_embedding_text_mends_a_slip_as_the_gates_read_it() -> None:
    # "candle" is the more frequent word one slip away; the polarity gate reads "cancel"
    assert embedding_text("How do I cancle my order?") == "How do I cancel my order?"


def test_a_nationality_is_a_citizenship_only_in_a_question_of_papers_or_rights() -> None:
    assert countries.rewrite("I'm British and planning a trip to Japan, do I need a visa?").startswith(
        "I'm UK citizen")
    assert countries.rewrite("I’m Australian. Can I open a bank account in the UK?").startswith(
        "I’m Australia citizen")
    assert countries.rewrite("I'm French, how do I open this jar?") == "I'm French, how do I open this jar?"
    assert "Korean" in countries.rewrite("I'm Korean but born in the US, do I need a visa?")


def test_a_message_reported_is_no_word_asked_about() -> None:
    """What a device "says" is read by the other gates; a word one asks how to say still has to match."""
    assert analyse("my iphone says storage is full, how do i clear space").mentioned == frozenset()
    assert analyse("my phone keeps saying storage is full").mentioned == frozenset()
    assert analyse("How do I say thank you in Japanese?").mentioned


def test_a_thing_stopped_working_is_not_working_and_in_place_of_is_instead_of() -> None:
    stopped, not_working = analyse("my sim has stopped working"), analyse("my sim isn't working")
    assert stopped.negations == not_working.negations == 1
    assert analyse("use soda in place of baking powder").sequence == \
        analyse("use soda instead of baking powder").sequence


def test_embedding_text_drops_greetings_and_mends_spelling() -> None:
    assert embedding_text("Hi team, how do I chnage my adress? Thanks in advance") == \
        "how do I change my address?"
    # A name no dictionary word is one slip from stays as written.
    assert embedding_text("Do you deliver to Hounslow?") == "Do you deliver to Hounslow?"
    # The expressions the gates rewrite are embedded rewritten, as the gates read them.
    assert embedding_text("Is it OK to put bread in the freezer?") == "Is it OK to freeze bread?"
    assert embedding_text("How do I let the council know?") == "How do I tell the council?"


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()  # loaded once for the module


@pytest.fixture
async def cache(tmp_path: Path, embedder: LocalEmbedder) -> AsyncIterator[SemanticCache]:
    c = SemanticCache.at(tmp_path / "semantic.sqlite3", embedder, threshold=0.5, ttl_s=3600, max_bytes=10**8)
    yield c
    await c.close()


@pytest.mark.parametrize(("gate", "cached", "new"),
                         [t for t in TRAPS if t[0] not in ("name", "rare_word")])  # those fall below 0.5
async def test_traps_miss_through_the_cache(cache: SemanticCache, gate: str, cached: str, new: str) -> None:
    scope = Scope("trap:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is None and found.refused == gate


@pytest.mark.parametrize(("cached", "new"), PARAPHRASES + SAME_WORDS)
async def test_paraphrases_hit_through_the_cache(cache: SemanticCache, cached: str, new: str) -> None:
    scope = Scope("paraphrase:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is not None and found.hit.value == {"answer": cached}
    assert found.hit.question == cached and found.hit.similarity >= 0.8


@pytest.mark.parametrize(("cached", "new"), [
    # "insurance policy" reads as "insurance", but another kind of insurance is still another
    ("What's the excess on my contents insurance policy?", "What's the excess on my car insurance policy?"),
    # "how long" asks for a length of time, and may be reworded only as one
    ("How long is the warranty on the dishwasher?", "What does the warranty on the dishwasher cover?"),
    # "under" before a number is still below it
    ("Is it free for kids below 5?", "Is it free for kids aged 5?"),
    ("How do I update my phone?", "How do I replace my phone?"),  # changing one is not replacing it
    ("Can I deposit cash at the post office?", "Can I pay in cash at the post office?"),
    # "extended" shares a sense with "covered", but "covered" is said on both sides
    ("Is my laptop covered by the warranty?", "Is my laptop covered by the extended warranty?"),
    # built anew, and the word after "gift" names another thing with it
    ("Can I get a refund on a gift card?", "Is it possible to be refunded for a gift?"),
    # a limit is no fee: siblings with no near-synonym between them
    ("Is there a withdrawal limit?", "Is there a withdrawal fee?"),
    # no word read in context stands for a word of meaning: a definition is not an amount
    ("What does the term 'excess' mean in insurance?", "How does the excess on my insurance work?"),
])
async def test_words_without_a_near_synonym_miss(cache: SemanticCache, cached: str, new: str) -> None:
    scope = Scope("word vectors:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is None and found.refused == "content"


@pytest.mark.parametrize(("cached", "new"), [
    # a party, a unit or a voice said another way, which the role, value and polarity readings keep
    ("can you call me back", "can i get a call back"),
    ("my boss didn't pay me", "i wasn't paid by my boss"),
    ("Why was my card declined?", "My card got declined, why?"),
    ("Why has rent gone up so much?", "Why have rents risen so much?"),
    ("How many cups in a liter?", "convert 1 liter to cups"),
    ("How do I convert ounces to grams?", "How many grams in an ounce?"),
    ("Can I send £5 to a friend?", "Can I send 5 pounds to a friend?"),
    ("When does fall start?", "When does autumn start?"),
])
async def test_a_party_unit_or_voice_said_another_way_hits(cache: SemanticCache, cached: str,
                                                            new: str) -> None:
    scope = Scope("said another way:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is not None and found.hit.value == {"answer": cached}


@pytest.mark.parametrize(("cached", "new"), REWORDED)
async def test_a_rewording_hits_on_a_close_embedding(cache: SemanticCache, cached: str, new: str) -> None:
    assert compare(analyse(cached), analyse(new)).reworded
    scope = Scope("reworded:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is not None and found.hit.similarity >= REWORDED_COSINE


@pytest.mark.parametrize(("cached", "new"), [
    ("Do you sell gift cards?", "can I buy a gift card from you?"),
    ("Can you lend me money?", "Can I borrow money from you?"),
])
async def test_one_exchange_said_from_each_end_hits(cache: SemanticCache, cached: str, new: str) -> None:
    """"You" selling is the asker buying from you: the polarity gate lets the pair through, and
    the two words read alike in context."""
    assert compare(analyse(cached), analyse(new)).refused in (None, "rare_word")
    scope = Scope("exchange:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is not None and found.hit.question == cached
    assert found.hit.similarity >= SemanticCacheConfig().similarity_threshold


@pytest.mark.parametrize(("cached", "new"), [
    ("Is the museum free to enter?", "are the special exhibitions at the museum free too?"),
    ("Does the hotel have a pool?", "Is there a gym at the hotel?"),
])
async def test_a_thing_found_at_the_other_sides_thing_is_another_thing(
        cache: SemanticCache, cached: str, new: str) -> None:
    """"The exhibitions at the museum" are asked of, not the museum: no word read in context or
    close embedding may stand for the difference."""
    for a, b in ((cached, new), (new, cached)):
        assert not compare(analyse(a), analyse(b)).rebuilt
    scope = Scope("found-at:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is None and found.refused == "content"
    # the same thing said at a place is still the other's question
    verdict = compare(*analyse_pair("Does the hotel have a pool?", "Is there a pool at the hotel?"))
    assert verdict.refused is None


@pytest.mark.parametrize(("cached", "new"), [
    ("What's the capital of Austria?", "Austria's population is what?"),
    ("How do I get to the airport by bus?", "Is there a train to the airport?"),
])
async def test_a_rebuilt_question_about_something_else_misses(
        cache: SemanticCache, cached: str, new: str) -> None:
    """Built anew too, but the embeddings do not agree closely, so the words must still match."""
    assert compare(analyse(cached), analyse(new)).reworded
    scope = Scope("rebuilt:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is None and found.refused == "content"


# Word senses (gatewise.cache.word_senses): a word with a sense of the other side's word, or a
# verb naming a manner of it, stands for it; a sibling (another kind of the same thing, another
# action on the same object) does not. None of these pairs is in the hand-written synonym groups.
SENSE_PARAPHRASES = [
    ("How do I verify my email address?", "How do I confirm my email address?"),  # one sense
    ("Do I need a fishing licence?", "Do I need a fishing permit?"),
    ("How long is the driving exam?", "How long is the driving test?"),
    ("Can I quit my job by email?", "Can I resign from my job by email?"),
    ("When does the course commence?", "When does the course begin?"),  # "begin" takes a side alone
]
# The same shapes, with a word that names something else.
SENSE_TRAPS = [
    ("How do I verify my email address?", "How do I update my email address?"),
    ("Do I need a fishing licence?", "Do I need a fishing rod?"),
    ("How long is the driving test?", "How long is the driving lesson?"),
    ("Can I quit my gym membership online?", "Can I freeze my gym membership online?"),
    ("How long should I bake salmon?", "How long should I fry salmon?"),  # two ways to cook
    # 0.95 alike as sentences, and two answers
    ("How do I repair a cracked phone screen?", "How do I replace a cracked phone screen?"),
]


@pytest.mark.parametrize(("a", "b"), [
    ("mend", "fix"), ("luggage", "baggage"), ("dispute", "challenge"),  # a shared sense
    ("amend", "modify"), ("modify", "amend"),  # a manner of the other, either way round
    ("bought", "purchase"),  # an irregular form reads as its word
])
def test_words_with_a_shared_sense_are_interchangeable(a: str, b: str) -> None:
    assert word_senses.interchangeable([a], [b])


@pytest.mark.parametrize(("a", "b"), [
    ("chicken", "beef"), ("puppy", "kitten"), ("print", "download"), ("repair", "replace"),
    ("claim", "approve"), ("mortgage", "loan"), ("tenant", "landlord"), ("weekday", "weekend"),
    ("buy", "sell"),
])
def test_siblings_and_opposites_are_not(a: str, b: str) -> None:
    assert not word_senses.interchangeable([a], [b])


@pytest.mark.parametrize(("cached", "new"), SENSE_PARAPHRASES)
def test_a_word_with_the_same_sense_is_matched(cached: str, new: str) -> None:
    verdict = compare(analyse(cached), analyse(new))
    assert verdict.refused is None
    assert verdict.unmatched_cached == verdict.unmatched_new == frozenset()


@pytest.mark.parametrize(("cached", "new"), SENSE_PARAPHRASES)
async def test_paraphrases_with_another_word_of_one_sense_hit(
        cache: SemanticCache, cached: str, new: str) -> None:
    scope = Scope("senses:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is not None and found.hit.question == cached
    assert found.hit.similarity >= SemanticCacheConfig().similarity_threshold  # served at the default too


@pytest.mark.parametrize(("cached", "new"), SENSE_TRAPS)
async def test_traps_of_the_same_shape_miss(cache: SemanticCache, cached: str, new: str) -> None:
    scope = Scope("senses:" + cached, ("m",))
    await cache.store(scope, cached, {"answer": cached})
    found = await cache.lookup(scope, new)
    assert found.hit is None and found.refused in ("content", "rare_word")


def test_a_dictionary_word_is_not_read_as_a_slip_of_another() -> None:
    """"mend" is not "lend" (an opposite-pair word), "debit" not "debut", "shingles" not "single"
    (a value); "instal" is another spelling of "install", so it is still read as that."""
    assert analyse("Can I mend the strap on my watch?").polarity == frozenset()
    assert analyse("Do you treat shingles?").values == frozenset()
    assert embedding_text("Can I use my debit card abroad?") == "Can I use my debit card abroad?"
    install = analyse("How do I install the app?").polarity
    assert install and analyse("How do I instal the app?").polarity == install
    # two dictionary words one letter apart are two words, unless one only doubles a letter
    for cached, new in (("How do I request maternity leave?", "How do I request paternity leave?"),
                        ("Is the paint toxic?", "Is the pain toxic?")):
        verdict = compare(*analyse_pair(cached, new))
        assert verdict.refused is not None or verdict.unmatched_new, new
    verdict = compare(*analyse_pair("Can I pay in instalments?", "Can I pay in installments?"))
    assert verdict.refused is None and not verdict.unmatched_new


@pytest.mark.parametrize(("word", "stemmed"), [
    ("fixes", "fix"), ("taxes", "tax"), ("boxes", "box"), ("matches", "match"), ("buses", "bus"),
    ("goes", "go"), ("caches", "cache"), ("horses", "horse"), ("sizes", "size"), ("shoes", "shoe"),
    ("bluffed", "bluff"), ("dripped", "drip"), ("hopped", "hop"), ("hoped", "hope"), ("named", "name"),
    ("noted", "note"), ("visited", "visit"),
    # six-letter -ing forms: a three-letter verb, or one that lost its "e"; "during" is no verb
    ("buying", "buy"), ("paying", "pay"), ("fixing", "fix"), ("taking", "take"), ("noting", "note"),
    ("during", "during"), ("string", "string"),
])
def test_the_stem_is_the_word_a_regular_form_is_made_from(word: str, stemmed: str) -> None:
    """-es after a hissing sound, a doubled consonant and a dropped "e" are undone only where the
    word has them: "fixes" is "fix", not "fixe" (which was then read as a slip of "five")."""
    assert stem(word) == stemmed


def test_one_standing_for_a_thing_is_no_count() -> None:
    """"one" that ends its phrase stands for a thing ("How do I apply for one?"); a count keeps its
    value ("one or two", "one of the lifts", "one bag", "only one")."""
    for text in ("How do I apply for one?", "Can I get a new one if it breaks?", "Is there a table for one?",
                 "Which one is cheaper?", "How much is each one?"):
        assert analyse(text).values == frozenset(), text
    # a comma ends the phrase "one" stands in
    assert analyse("I'll take the 5GB one, how do I add it?").values == {"5", "gb"}
    for text in ("Is the room for one or two?", "Is one of the lifts broken?", "Can I bring one bag?",
                 "Can I bring only one?"):
        assert "1" in analyse(text).values, text
    assert compare(analyse("How do I get a parking permit?"),
                   analyse("I want a parking permit, how do I apply for one?")).refused != "value"
    # "no one" is nobody
    assert compare(*analyse_pair("Is no one at the desk?", "Is nobody at the desk?")).refused is None


def test_a_period_and_a_season_said_two_ways_are_one_value() -> None:
    """"How many minutes to ..." asks how long, "what will I pay a month" the monthly rate, and
    the fall is autumn; another period or season still differs."""
    for cached, new in (("How long should I boil an egg for?", "How many minutes to boil an egg?"),
                        ("Fine, so what will I pay each month?", "Fine, so what will I pay a month?"),
                        ("Is it safe to eat one egg a day?", "Is it safe to eat one egg every day?"),
                        ("When do the leaves turn in autumn?", "When do the leaves turn in the fall?")):
        assert compare(analyse(cached), analyse(new)).refused is None, cached
    for cached, new in (("Is it safe to eat one egg a day?", "Is it safe to eat one egg a week?"),
                        ("What will I pay a month?", "What will I pay for a month?"),
                        ("When do the leaves turn in autumn?", "When do the leaves turn in spring?")):
        assert compare(analyse(cached), analyse(new)).refused == "value", cached


def test_the_unit_an_answer_is_given_in_is_no_value() -> None:
    """A unit after "how many" or "how much" says how the answer is counted, not a value the
    question names; a weight in pounds is a weight; "first aid" and "at first" count nothing."""
    for cached, new in (("How many days' notice do I need to give?", "How much notice do I need to give?"),
                        ("How many hours of sleep does a teen need?", "How much sleep does a teen need?"),
                        ("How many tablespoons are in a cup?", "How many tbsp are in 1 cup?"),
                        ("How many calories are in a pound of mince?", "How many calories in 1lb of mince?"),
                        ("What goes in a first aid kit?", "What goes in a first-aid kit?"),
                        # the unit that ends a question after "in"
                        ("How many hours are in a week?", "How long is a week in hours?")):
        assert compare(analyse(cached), analyse(new)).refused is None, cached
    # two units asked in ask for two counts
    for cached, new in (("How many days are in a leap year?", "How many weeks are in a leap year?"),
                        ("How many times a week should I run?", "How many times a day should I run?"),
                        ("How many days' notice must I give?", "How many weeks' notice must I give?"),
                        ("How far is Paris from London in miles?", "How far is Paris from London in km?")):
        assert compare(analyse(cached), analyse(new)).refused == "value", cached
    for cached, new in (("How much notice do I need to give?", "Do I need to give 2 days' notice?"),
                        ("How many calories are in a pound of mince?", "How many calories in £1 of mince?"),
                        ("Can I bring a pound of cheese?", "Can I bring 2 pounds of cheese?")):
        assert compare(analyse(cached), analyse(new)).refused == "value", cached
    assert analyse("At first it worked, now it won't start").values == frozenset()


@pytest.mark.parametrize(("cached", "new"), [
    ("How often should I feed my cat?", "How many times a day does a cat need feeding?"),
    ("Who wrote the novel 1984?", "Who wrote the novel Nineteen Eighty-Four?"),
    ("Can I change my major after the first year?", "Can I change my major after year one?"),
    ("How do I connect my AirPods to my Mac?", "How do I connect my AirPods to my Mac computer?"),
    ("How do I clear my cache in Chrome?", "How do I clear the cache in the Chrome browser?"),
    ("How do I take a screenshot on Windows 11?", "How do I take a screenshot on my Windows 11 PC?"),
    ("What is an index fund?", "What does the term 'index fund' mean?"),
    ("How do I switch energy supplier?", "How do I switch to a different energy supplier?"),
    ("Can I take ibuprofen with paracetamol?", "Can I take ibuprofen with acetaminophen?"),
    ("What's the overdraft fee on my current account?", "What's the overdraft fee on my checking account?"),
    ("How do I fix a dripping tap?", "How do I fix a dripping faucet?"),
    ("How often should I work out?", "How often should I exercise?"),
    ("Can I freeze my gym membership?", "Can I put my gym membership on hold?"),
    ("Can I deposit a cheque in the app?", "Can I deposit a check in the app?"),
    ("Who sang Bohemian Rhapsody?", "Which band sang Bohemian Rhapsody?"),
    ("Which is cheaper, the bus or the train?", "Which costs less, the bus or the train?"),
    ("What was my most recent payment?", "What was my last payment?"),
    ("Can I park overnight?", "Can I park at night?"),
    # where to deal with a thing online is how to
    ("How do I track the parcel?", "Where can I track the parcel?"),
    ("How do I view the invoice?", "Where do I view the invoice?"),
    # a slip read as the word it is most likely of, which then has its synonyms
    ("What's my credit score?", "What's my credit ratng?"),
    # what stops a thing asks why it can't happen
    ("Why can't I log in to my account?", "What's stopping me from logging into my account?"),
    ("Why won't my car start?", "What's preventing my car from starting?"),
    # a service is dealt with where it is dealt with
    ("How do I renew my library card?", "Where can I renew my library card?"),
    ("How can I submit my tax return?", "Where do I submit my tax return?"),
    # what causes a thing is why it is so
    ("Why is my bread dense?", "What makes bread dense?"),
    ("Why is my laptop fan so loud?", "What could be causing my laptop fan to be so loud?"),
    # "when I'm ..." opens a clause of its own in a question of yes or no
    ("Can I use my card abroad?", "Will my card work when I'm overseas?"),
    # identification is ID
    ("What ID do I need to open an account?", "What identification do I need to open an account?"),
    # a cash machine, a cashpoint and an ATM are one thing
    ("Is there an ATM at the station?", "Is there a cash machine at the station?"),
    ("Can I use any cashpoint abroad?", "Can I use any ATM abroad?"),
    # how late a place is open is when it closes
    ("What time does the pool close on Fridays?", "How late does the pool stay open on Fridays?"),
    ("When does the library close?", "Until what time is the library open?"),
    # a negation said in another word
    ("Can I cancel without paying a fee?", "Can I cancel for free?"),
    ("Why didn't my payment go through?", "Why did my payment fail?"),
    ("Why can't I log in to my account?", "Why am I unable to log in to my account?"),
    ("Can I take ibuprofen on an empty stomach?", "Can I take ibuprofen without food?"),
    # what a thing weighs is how heavy it is, not its price
    ("How much does my suitcase weigh?", "How heavy is my suitcase?"),
    # food put in the freezer is frozen; letting someone know is telling them, and reporting to them
    ("Can I freeze homemade soup?", "Is it OK to put homemade soup in the freezer?"),
    ("How do I report a broken streetlight to the council?",
     "How do I let the council know about a broken streetlight?"),
])
def test_one_thing_said_another_common_way_passes(cached: str, new: str) -> None:
    assert compare(analyse(cached), analyse(new)).refused is None


def test_which_body_asks_who_with_a_word_naming_whose() -> None:
    asker = analyse("Who fixes street lights?")
    assert same_question(asker, analyse("Which council department fixes street lights?"))
    assert not same_question(asker, analyse("Which street lights does the council department fix?"))


@pytest.mark.parametrize(("gate", "cached", "new"), [
    ("value", "How often should I feed my cat?", "Should I feed my cat twice a day?"),
    ("value", "Who wrote the novel 1984?", "Who wrote the novel Nineteen Eighty-Five?"),
    ("value", "Can I change my major after the first year?", "Can I change my major after year two?"),
    ("content", "How do I replace my iPhone battery?", "How do I replace my iPhone?"),
    ("value", "How do I take a screenshot on Windows 10?", "How do I take a screenshot on my Windows 11 PC?"),
    ("name", "How do I take a screenshot on Windows?", "How do I take a screenshot on my Dell PC?"),
    ("value", "Can I bring twenty fifty-pound notes?", "Can I bring 2050 pound notes?"),
    ("polarity", "What are the cheapest phone plans?", "Which phone plans cost the most?"),
    ("polarity", "How do I safely clean my camera sensor?", "What is the unsafe way to clean my sensor?"),
    ("value", "How much is a 2 bed flat in Leeds?", "How much is a one-bedroom flat in Leeds?"),
    ("role", "How do I move money to my account?", "How do I move money from my account?"),
    # where a thing is seen or found is a place
    ("question", "How can I see the northern lights?", "Where can I see the northern lights?"),
    ("question", "How do I find a pharmacy?", "Where can I find a pharmacy?"),
    # why a thing can't happen is not how to stop it
    ("question", "How do I stop my dog from barking?", "What's stopping my dog from barking?"),
    # a thing done at a place
    ("question", "How do I charge my electric car?", "Where can I charge my electric car?"),
    ("question", "How do I vote in the election?", "Where do I vote in the election?"),
    # a service dealt with by someone else
    ("question", "How do I renew my library card?", "Where can they renew my library card?"),
    # "what" as what is made, not what makes
    ("question", "Why is my bread stale?", "What can I make with stale bread?"),
    ("rare_word", "How much does my suitcase weigh?", "How much does my suitcase cost?"),
    ("negation", "Why can I log in to my account?", "Why am I unable to log in to my account?"),
    ("polarity", "What time does the library open?", "How late is the library open?"),
    # a freezer bag is no freezer
    ("rare_word", "Can I freeze homemade soup?", "Can I store homemade soup in a freezer bag?"),
])
def test_what_those_readings_do_not_stretch_to(gate: str, cached: str, new: str) -> None:
    assert compare(analyse(cached), analyse(new)).refused == gate


@pytest.mark.parametrize(("cached", "new"), [
    ("Is it legal to drink alcohol on a train?", "Is it safe to drink alcohol on a train?"),
    ("Is the new iPhone bigger?", "Is the new iPhone faster?"),
    ("Can I receive money abroad?", "Can I deposit money abroad?"),
    ("Is the water hot?", "Is the water warm?"),
    ("Is the train faster than the bus?", "Is the train longer than the bus?"),
    ("Can I upgrade my plan?", "Can I extend my plan?"),
    ("Is this test result positive?", "Is this test result valid?"),
])
async def test_one_side_of_a_pair_said_with_another_word_is_another_question(
        cache: SemanticCache, cached: str, new: str) -> None:
    """Two words on the same side of an opposite pair are not synonyms for that: each must match
    the other as any word would, and word vectors do not make them near-synonyms."""
    assert (await cache.judge(cached, new, 0.99))[0] in ("content", "rare_word")


@pytest.mark.parametrize(("cached", "new"), [
    ("How do I turn on dark mode?", "How do I enable dark mode?"),
    ("How do I enable dark mode?", "How do I activate dark mode?"),
    ("How do I delete my account?", "How do I remove my account?"),
    ("Can I pause my phone contract?", "Can I freeze my phone contract?"),
    ("What's the minimum deposit?", "What's the least I can deposit?"),
    ("How do I roll back to a previous version?", "How do I roll back to an earlier version?"),
    ("How do I add a table in Word?", "How do I insert a table in Word?"),
    ("Can I take ibuprofen with paracetamol?", "Is it safe to take ibuprofen with paracetamol?"),
    ("Can dogs eat grapes?", "Are grapes safe for dogs?"),
    ("How do I stop my puppy biting?", "How can I get my puppy to stop biting?"),
])
def test_one_side_of_a_pair_said_with_a_synonym_is_the_same_question(cached: str, new: str) -> None:
    assert compare(analyse(cached), analyse(new)).refused is None


async def test_safe_is_what_can_asks_only_of_taking_something_in(cache: SemanticCache) -> None:
    for cached, new in (("Can I use my phone while driving?", "Is it safe to use my phone while driving?"),
                        ("Is it legal to drink on a train?", "Is it safe to drink on a train?")):
        assert (await cache.judge(cached, new, 0.99))[0] is not None, cached


def test_work_out_with_something_to_work_out_is_calculating() -> None:
    tax = analyse("How do I work out my tax?")
    assert compare(tax, analyse("How do I calculate my tax?")).refused is None
    assert compare(tax, analyse("How do I exercise my tax?")).refused is not None


def test_real_words_and_adverbs_are_not_read_as_values() -> None:
    """A regular form of a dictionary word is no slip of a value word ("fixes" of "five", "nixes"
    of "nine", "dozed" of "dozen"); "once" before a clause and "first" closing one tell when
    ("after", "before"), not how many times or which one. A real slip still reads as the value."""
    assert analyse("What rate do you offer on two-year fixes?").values == {"24", "month"}  # in months
    for text in ("The council nixes the plan", "He bluffed at poker", "I grated the cheese",
                 "The cat dozed in the sun", "Is my landlord allowed in without warning me first?"):
        assert analyse(text).values == frozenset(), text
    assert analyse("What's my holiday entitlement once I've been here five years?").values == {"60", "month"}
    assert analyse("Is rent due on the first?").values == {"#1"}
    assert analyse("Can I see my first invoice?").values == {"#1"}
    assert analyse("Can I pay once a week?").values == {"x1", "weekly"}  # a rate
    assert analyse("Book a table for fiev people").values == {"5"}
    for cached, new in (("What rate do you offer on two-year fixes?",
                         "What rate do you offer on 2-year fixes?"),
                        ("What's my holiday entitlement once I've been here five years?",
                         "What's my holiday entitlement after five years here?"),
                        ("How much tax do I pay on boxes?", "How much tax do I pay on a box?")):
        assert compare(analyse(cached), analyse(new)).refused is None, cached


async def test_a_dictionary_word_with_the_same_sense_hits_and_a_sibling_misses(cache: SemanticCache) -> None:
    scope = Scope("dictionary word", ("m",))
    await cache.store(scope, "Can I mend the strap on my watch?", {"answer": "mend"})
    found = await cache.lookup(scope, "Can I fix the strap on my watch?")
    assert found.hit is not None and found.hit.value == {"answer": "mend"}
    found = await cache.lookup(scope, "Can I replace the strap on my watch?")
    assert found.hit is None and found.refused in ("content", "rare_word")


@pytest.mark.parametrize(("written", "read"), [
    ("As an American, do I need a visa?", "As an USA citizen, do I need a visa?"),
    ("I'm Korean but born in the US", "I'm Korean but born in the USA"),
    ("a british passport holder", "a UK passport holder"),
    ("Do Americans need a visa?", "Do USA citizens need a visa?"),
    # a language, a dish, another people's or a continent's word, and the verb are not the country
    ("Is Portuguese similar to Spanish?", "Is Portuguese similar to Spanish?"),
    ("I speak Polish", "I speak Polish"),
    ("South American food", "South American food"),
    ("How many Mexican Americans are there?", "How many Mexican Americans are there?"),
    ("Are the Swiss Alps safe in winter?", "Are the Swiss Alps safe in winter?"),
    ("What do the French eat for breakfast?", "What do the France citizens eat for breakfast?"),
    ("Is the British government elected?", "Is the UK government elected?"),
    ("Is Turkish sausage healthy?", "Is Turkish sausage healthy?"),
    ("How do I make French toast?", "How do I make French toast?"),
    ("Polish my shoes", "Polish my shoes"),
])
def test_a_country_is_read_by_its_name(written: str, read: str) -> None:
    assert countries.rewrite(written) == read
