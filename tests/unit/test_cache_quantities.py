"""Periods and rates written one way before the value gate compares them
(gatewise.cache.quantities): one period said two ways is one value; two periods, a period and a
rate, or two families of units never are."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewise.cache.gates import analyse, compare
from gatewise.cache.quantities import canonical

SAME = [
    ("Can I cancel in the first year?", "Can I cancel in the first 12 months?"),
    ("Can I cash out my 401(k) early?", "Can I cash out my 401k early?"),
    ("Is a 6mm drill bit big enough?", "Is a 6 millimetre drill bit big enough?"),
    ("Can I return it within two weeks?", "Can I return it within a fortnight?"),
    ("Can I return it within 14 days?", "Can I return it within 2 weeks?"),
    ("Does the class last 30 minutes?", "Does the class last half an hour?"),
    ("Is the flight 90 minutes?", "Is the flight an hour and a half?"),
    ("Is the flight 1.5 hours?", "Is the flight one and a half hours?"),
    ("Is the offer valid for 24 hours?", "Is the offer valid for a day?"),
    ("Is the contract 12 months long?", "Is the contract a year long?"),
    ("What rate do you offer on 2-year fixes?", "What rate do you offer on 24-month fixes?"),
    ("Can I pay £10 a month?", "Can I pay £10 per month?"),
    ("Can I pay £10/month?", "Can I pay £10 monthly?"),
    # May after its day is the month, with or without "of"
    ("Is it open on the 1st of May?", "Is it open on May 1?"),
    ("Is the 3rd of March a holiday?", "Is March 3 a holiday?"),
    # a half said in words, round the clock said in hours, a length that says it is long
    ("How much is 1.5 litres?", "How much is one and a half litres?"),
    ("Is the gym open 24/7?", "Is the gym open 24 hours a day, 7 days a week?"),
    ("Is the flight 2 hours?", "Is the flight two hours long?"),
    # a period right after what "how many" counts is its rate
    ("How many calories a day do I need?", "How many calories do I need a day?"),
    ("How many steps per day should I walk?", "How many steps a day should I walk?"),
    # by the hour, and with the currency said in words
    ("Is £21 an hour a fair wage?", "Is £21 per hour a fair wage?"),
    ("Is 21 dollars an hour a fair wage?", "Is $21 hourly a fair wage?"),
    ("Is 30 pounds a month too much for broadband?", "Is £30 a month too much for broadband?"),
    ("How often should I take it, twice a day?", "How often should I take it, twice daily?"),
    ("What's the price per week?", "What's the weekly price?"),
    ("Is the gym open at weekends?", "Is the gym open on Saturday and Sunday?"),
    ("What happens at noon?", "What happens at 12pm?"),
    ("Does the bar close at midnight?", "Does the bar close at 12am?"),
    ("Is the parking limited to 30 mins?", "Is the parking limited to 30 minutes?"),
    ("Can I borrow £3,000?", "Can I borrow £3k?"),
    ("Can I borrow £3,000?", "Can I borrow three thousand pounds?"),
    ("Is the limit 24 hours?", "Is the limit twenty-four hours?"),
    ("Is it £1.50?", "Is it £1.5?"),
    ("Is a 1st class stamp enough?", "Is a first class stamp enough?"),
    ("Can I get 2 tickets for £100?", "Can I get two tickets for a hundred pounds?"),
    ("How much is 1kg of flour?", "How much is a kilo of flour?"),
    ("How many tablespoons are in a cup?", "How many tbsp are in 1 cup?"),
    ("How many ml are in a teaspoon?", "How many millilitres are in one tsp?"),
    ("Is the run 1 mile?", "Is the run one mile?"),
    # "a day" or "in a year" that ends a question of how much or how many is a rate
    ("How much can I withdraw in a day?", "How much can I withdraw daily?"),
    ("How many days holiday do I get a year?", "How many days holiday do I get per year?"),
    # a clock time on the 24-hour clock or the 12-hour one, in figures or in words
    ("Is the shop open at 17:00?", "Is the shop open at 5pm?"),
    ("Is the 3pm train on time?", "Is the 15:00 train on time?"),
    ("Does the gym open at 06:00?", "Does the gym open at 6 a.m.?"),
    ("Can I book a table for half past seven?", "Can I book a table for 7:30?"),
    ("Is there a train at quarter to six?", "Is there a train at 5:45?"),
    ("Is there a bus at noon?", "Is there a bus at 12:00?"),
    # the half of the day said in words
    ("Is the pharmacy open at 3 in the afternoon?", "Is the pharmacy open at 3pm?"),
    ("Is there a train at seven o'clock in the evening?", "Is there a train at 19:00?"),
    ("Can I check in at 7:30 in the morning?", "Can I check in at 7:30am?"),
    ("Is the bar open until 12 at night?", "Is the bar open until midnight?"),
    ("Is there a table at 8 tonight?", "Is there a table at 8pm tonight?"),
    # a day or a month shortened, the working week, a percentage spelt out
    ("Is the pool open on Sat?", "Is the pool open on Saturday?"),
    ("What's the weather like in Dec?", "What's the weather like in December?"),
    ("Is the museum open on weekdays?", "Is the museum open Monday to Friday?"),
    ("What's 20 per cent of 150?", "What's 20% of 150?"),
    # a day of a month written four ways, named days, an evening today, round the clock
    ("Is the office closed on the 5th of January?", "Is the office closed on 5 January?"),
    ("Is the office closed on January 3rd?", "Is the office closed on 3 January?"),
    ("Is the shop open on Christmas Day?", "Is the shop open on 25th December?"),
    ("Is the restaurant open tonight?", "Is the restaurant open this evening?"),
    ("Can I park here overnight?", "Can I park here all night?"),
    ("Is the park open at night?", "Is the park open after dark?"),
    ("Is the gym open 24 hours?", "Is the gym open 24/7?"),
    # counts of times, rates said as a number of periods, units spelt out, a couple, an age group
    ("How often should I take it, twice a day?", "How often should I take it, 2 times a day?"),
    ("Do I pay my water bill every 3 months?", "Do I pay my water bill quarterly?"),
    ("Is the bin collected every other week?", "Is the bin collected fortnightly?"),
    ("How much is the 10GB plan?", "How much is the 10 gigabyte plan?"),
    ("Can I get a refund within a couple of days?", "Can I get a refund within 2 days?"),
    ("Is there a discount for over 65s?", "Is there a discount for over 65?"),
    ("Is the ticket cheaper for under 16s?", "Is the ticket cheaper for children under 16?"),
    ("Do kids under five travel free?", "Do under 5s travel free?"),
]
DIFFERENT = [
    ("Can I return it within a month?", "Can I return it within 30 days?"),  # two families
    ("Is the contract a year long?", "Is the contract 365 days long?"),
    ("Is the subscription a week long?", "Is the subscription weekly?"),  # a period, a rate
    ("Can I return it within two weeks?", "Can I return it within two days?"),
    ("Is the flight 90 minutes?", "Is the flight an hour?"),
    ("Can I pay £10 a month?", "Can I pay £10 a week?"),
    ("Is £21 an hour a fair wage?", "Is £21 a day a fair wage?"),
    ("How many calories a day do I need?", "How many calories a week do I need?"),
    ("Is it open on May 1?", "Is it open on June 1?"),
    ("Can I park for an hour?", "Can I park for £1 an hour?"),  # a period, a rate
    ("Is the gym open at weekends?", "Is the gym open on Saturday?"),
    ("Which day is collection?", "Which week is collection?"),  # no count: compared as written
    ("Can I borrow £3k?", "Can I borrow £30k?"),
    ("Is it £1.50?", "Is it £1.05?"),
    ("Is the limit twenty-four hours?", "Is the limit forty-two hours?"),
    ("Is a 1st class stamp enough?", "Is a 2nd class stamp enough?"),
    ("Is version 1.50 out?", "Is version 1.5 out?"),  # not a price: its digits are kept
    ("How much is a pound of mince?", "How much is £1 of mince?"),  # a weight, an amount
    ("How much is half a kilo of flour?", "How much is 1kg of flour?"),
    # elsewhere "in a year" is a length of time, not a rate
    ("What will my savings be worth in a year?", "What will my savings be worth yearly?"),
    ("How much is a day pass?", "How much is a daily pass?"),  # a day ends no question
    ("Is the shop open at 5pm?", "Is the shop open at 5am?"),
    ("Is the shop open at 17:00?", "Is the shop open at 7pm?"),
    ("Is the 7:30 train on time?", "Is the 7:30pm train on time?"),  # 7:30 names no half of the day
    ("Is the pharmacy open at 3 in the afternoon?", "Is the pharmacy open at 3am?"),
    ("Does the bar close at 11 at night?", "Does the bar close at 11am?"),
    ("Can we book a table for 4 in the evening?", "Can we book a table for 4pm?"),  # four people
    ("Is there a train at quarter past six?", "Is there a train at quarter to six?"),
    ("Is the museum open Monday to Friday?", "Is the museum open Monday to Saturday?"),
    ("Is the office closed on January 3rd?", "Is the office closed on 13 January?"),
    ("Is the shop open on Christmas Day?", "Is the shop open on Christmas Eve?"),
    ("Do I pay my water bill every 3 months?", "Do I pay my water bill every 2 months?"),
    ("How often should I take it, twice a day?", "How often should I take it, 3 times a day?"),
    ("Is the rent due on the first day of the month?", "Is the rent due in the first month?"),
    ("Is a 6mm drill bit big enough?", "Is a 6cm drill bit big enough?"),
    ("Were prices higher in the 1990s?", "Were prices higher in 1990?"),  # a decade, not an age
]


@pytest.mark.parametrize(("cached", "new"), SAME)
def test_one_period_said_two_ways_is_one_value(cached: str, new: str) -> None:
    a, b = analyse(cached), analyse(new)
    assert a.values == b.values and a.values
    assert compare(a, b).refused is None


@pytest.mark.parametrize(("cached", "new"), DIFFERENT)
def test_other_periods_and_rates_stay_apart(cached: str, new: str) -> None:
    assert compare(analyse(cached), analyse(new)).refused == "value"


@pytest.mark.parametrize("text", [
    "Is there a min order?",  # the minimum, not a minute
    "What happens in the second week?",  # an ordinal
    "Is order 1234567 days late?",  # a long number is compared as written
    "Can I book for the day?",
    "Is version 1.50 out?",
    "Is the 13th a holiday?",  # ordinals past the fifth have no word among the values
    "I sat in the sun on the deck",  # shortened days and months only where a date stands
    "May I pay in May?",
    "Is it £7.5 at 5.30?",  # a figure with a point and no am or pm is no clock time
])
def test_what_is_not_a_counted_period_is_left_as_written(text: str) -> None:
    assert canonical(text) == text


@pytest.mark.parametrize(("text", "read"), [
    ("What will I pay a month?", "What will I pay monthly?"),
    ("Is it ok to eat one egg a day?", "Is it ok to eat one egg daily?"),
    ("Can I hire a bike for a day?", "Can I hire a bike for 1440 minutes?"),
    ("Does it take a week?", "Does it take 10080 minutes?"),
    ("Is it a day?", "Is it 1440 minutes?"),
])
def test_a_period_ending_a_clause_is_a_rate_unless_a_word_makes_it_a_length(text: str, read: str) -> None:
    assert canonical(text) == read


def test_periods_become_lengths_in_minutes_or_months() -> None:
    assert canonical("within a fortnight") == "within 20160 minutes"
    assert canonical("an 18-month contract at £30 a month") == "an 18 months contract at £30 monthly"
    # "a week" that ends a clause after a word of what is had is a rate, not a length
    assert canonical("5 days a week") == "7200 minutes weekly"
    assert canonical("one hundred and eighty degrees") == "180 degrees"
    assert canonical("a one-hundred-millilitre bottle") == "a 100 millilitre bottle"
    assert canonical("a two-kilogram chicken") == "a two kilogram chicken"
    # a half said twice is one half, so the length written out is not read again as longer
    assert canonical("a day and a half and a half") == "2160 minutes" == canonical("2160 minutes")


_PIECES = st.sampled_from([
    "a", "an", "half", "one", "2", "2.5", "and a half", "-", " ", "/", "£30", "day", "days", "week", "month",
    "year", "hour", "mins", "min", "per", "every", "twice", "weekend", "noon", "midnight", "x", "1234567",
    "twenty", "four", "thousand", "£3k", "£1.50", "1st", "hundred", "k",
    # clock times, shortened days and months, a percentage spelt out
    "5pm", "12am", "17:00", "09:30", "pm", "half past", "quarter to", "seven", "o'clock", "on", "Sat", "Dec",
    "per cent", "Mon-Fri", "to", "Friday",
    # the half of the day in words
    "at", "in the morning", "in the afternoon", "at night", "tonight", "this morning", "this evening",
    "3:15"])


@pytest.mark.parametrize("text", ["every a year", "half past 2 Sat", "Dec Dec 2 2", "noon / day",
                                  "half past one pm", "four o'clock / day",
                                  "3:15 in the morning in the morning", "noon in the morning",
                                  "noon tonight"])
def test_texts_once_found_unstable_are_stable(text: str) -> None:
    once = canonical(text)
    assert canonical(once) == once


@given(st.lists(_PIECES, max_size=30).map(" ".join) | st.text(max_size=200))
def test_writing_one_way_is_stable_and_bounded(text: str) -> None:
    once = canonical(text)
    assert canonical(once) == once
    assert len(once) <= 4 * len(text) + 20


def test_a_half_of_the_day_said_again_after_its_words_is_read_once() -> None:
    # "12pm in the morning pm" left a stray "pm" that a second reading took as another time
    once = canonical("noon in the morning pm")
    assert once == "12:00" and canonical(once) == once
