"""PII as people also write it (spelled out, encoded, defanged, in table columns, after a URI
scheme), the national ids found by their checksums, and the look-alikes none of them may catch."""

from __future__ import annotations

import pytest

from gatewise.guardrails.entities import entity_type
from gatewise.guardrails.normalize import normalise
from gatewise.guardrails.pii import find_pii
from gatewise.guardrails.validators import aadhaar_ok, bsn_ok, nir_ok


def found(text: str) -> list[tuple[str, str, str]]:
    """(type, original text, canonical value) of every finding."""
    view = normalise(text)
    out = []
    for f in find_pii(view):
        start, end = view.span(f.start, f.end)
        out.append((f.type, text[start:end], f.value))
    return out


@pytest.mark.parametrize(("text", "expected"), [
    # e-mail with an internationalised domain, URL-encoded, spelled out or spaced
    ("Schreib an jürgen.müller@bücher.de bitte.",
     ("EMAIL", "jürgen.müller@bücher.de", "jürgen.müller@bücher.de")),
    ("Correo: josé.garcía@correos.españa.es",
     ("EMAIL", "josé.garcía@correos.españa.es", "josé.garcía@correos.españa.es")),
    ("punycode a.b@xn--bcher-kva.de", ("EMAIL", "a.b@xn--bcher-kva.de", "a.b@xn--bcher-kva.de")),
    ("GET https://api.example.com/users?email=li.wei%40qq.com&active=1",
     ("EMAIL", "li.wei%40qq.com", "li.wei@qq.com")),
    ("reach me at kenji dot tanaka at yahoo dot co dot jp",
     ("EMAIL", "kenji dot tanaka at yahoo dot co dot jp", "kenji.tanaka@yahoo.co.jp")),
    ("my mail is john dot smith at example dot com.",
     ("EMAIL", "john dot smith at example dot com", "john.smith@example.com")),
    ("Contact: jsmith at example dot com", ("EMAIL", "jsmith at example dot com", "jsmith@example.com")),
    ("write j.doe [at] corp [dot] de", ("EMAIL", "j.doe [at] corp [dot] de", "j.doe@corp.de")),
    ("m.rossi(at)unimi(dot)it for the thesis", ("EMAIL", "m.rossi(at)unimi(dot)it", "m.rossi@unimi.it")),
    ("mail sofia.rossi @ libero.it", ("EMAIL", "sofia.rossi @ libero.it", "sofia.rossi@libero.it")),
    # an SSN the SSA never issues, named by its column's header
    ("name,ssn,state\nAna Diaz,536-22-8714,TX\nBo Li,219-09-9999,NV",
     ("US_SSN", "219-09-9999", "219099999")),
    ("| Name | SSN | State |\n|---|---|---|\n| Bo Li | 219099999 | NV |",
     ("US_SSN", "219099999", "219099999")),
    ("Name\tSocial Security\nBo Li\t078-05-1120", ("US_SSN", "078-05-1120", "078051120")),
    # an IBAN in dash-joined groups
    ("IBAN DE89-3704-0044-0532-0130-00 please",
     ("IBAN", "DE89-3704-0044-0532-0130-00", "DE89370400440532013000")),
    ("pay to GB82-WEST-1234-5698-7654-32.",
     ("IBAN", "GB82-WEST-1234-5698-7654-32", "GB82WEST12345698765432")),
    # defanged and zero-padded IPv4
    ("C2 server 185[.]220[.]101[.]47 seen", ("IP_ADDRESS", "185[.]220[.]101[.]47", "185.220.101.47")),
    ("beacon to 45(.)153(.)160(.)2:443", ("IP_ADDRESS", "45(.)153(.)160(.)2", "45.153.160.2")),
    ("host 91.240.118[.]172 is bad", ("IP_ADDRESS", "91.240.118[.]172", "91.240.118.172")),
    ("blocked 185.220.101.047 at the edge", ("IP_ADDRESS", "185.220.101.047", "185.220.101.47")),
    # a phone number right after a URI scheme or label
    ('<a href="tel:+14155552671">Call us</a>', ("PHONE", "+14155552671", "+14155552671")),
    ("[call](tel:+33142685300)", ("PHONE", "+33142685300", "+33142685300")),
    ("sms:+14155552671", ("PHONE", "+14155552671", "+14155552671")),
    ("ph:+14155552671", ("PHONE", "+14155552671", "+14155552671")),
    ("TEL:+442079460958", ("PHONE", "+442079460958", "+442079460958")),
    ("callto://+14155552671", ("PHONE", "+14155552671", "+14155552671")),
    ("https://wa.me/14155552671", ("PHONE", "14155552671", "+14155552671")),
    ("https://wa.me/447911123456?text=hi", ("PHONE", "447911123456", "+447911123456")),
    # phone numbers written with dots are still phone numbers
    ("call 415.555.2671 today", ("PHONE", "415.555.2671", "+14155552671")),
    ("call 1.800.555.0199", ("PHONE", "1.800.555.0199", "+18005550199")),
    # national ids, by checksum and label
    ("Mijn BSN is 111222333.", ("NL_BSN", "111222333", "111222333")),
    ("burgerservicenummer: 1234.56.782", ("NL_BSN", "1234.56.782", "123456782")),
    ("naam;bsn;plaats\nJan;123456782;Delft", ("NL_BSN", "123456782", "123456782")),
    ("Aadhaar: 2341 2341 2346", ("IN_AADHAAR", "2341 2341 2346", "234123412346")),
    ("UIDAI no. 4991-1866-5246", ("IN_AADHAAR", "4991-1866-5246", "499118665246")),
    ("N° de sécurité sociale : 2 69 05 49 588 157 80",
     ("FR_NIR", "2 69 05 49 588 157 80", "269054958815780")),
    ("carte vitale 269054958815780", ("FR_NIR", "269054958815780", "269054958815780")),
    ("NIR 1 85 05 2A 006 084 35", ("FR_NIR", "1 85 05 2A 006 084 35", "185052A00608435")),
])
def test_pii_as_people_also_write_it(text: str, expected: tuple[str, str, str]) -> None:
    assert expected in found(text)


@pytest.mark.parametrize("text", [
    # dotted numeric identifiers: browser and OS versions, OIDs, library versions
    "Chrome 122.0.6261.112 crashes on startup.",
    "Chrome 124.0.6367.91 and Edge 124.0.2478.51 both fail.",
    "Firefox 115.0.2 ESR and Safari 17.4.1 render it fine",
    "SNMP OID 1.3.6.1.2.1.1.3.0 returns sysUpTime.",
    "walk 1.3.6.1.4.1.9.9.13.1.3.1.3 on the switch",
    "Windows build 10.0.22631.3447",
    "Node v18.19.0.1 build",
    "Library libfoo.so.1.2.3.4 missing",
    # "at", "dot" and a spaced "@" in prose and code
    "I work at google dot com these days",
    "the dot com bubble burst at its peak",
    "look at example dot com for details",
    "meet me at the office at noon",
    "y = q @ k.mT",
    "scores = weights @ inputs.mean(axis=0)",
    "@ mention the team at 5 pm",
    # numbers a label word does not call national ids, though their checksums pass
    "invoice 111222333 is due",
    "order 2341 2341 2346 has shipped",
    "tracking 499118665246",
    "id 269054958815780",
    "row,value\n1,111222333\n2,123456782",
    # an SSN-shaped number the SSA never issues, in a column not headed as one
    "name,zip,phone_ext\nBo Li,219-09-9999,12",
    # numbers after ':' or '/' that no phone scheme names
    "GET /api/v1/users/14155552671",
    "ts:14155552671 elapsed",
    # brackets and parentheses that defang nothing
    "array[1].items[2] and f(.)",
])
def test_look_alikes_are_not_pii(text: str) -> None:
    assert found(text) == []


def test_the_checksums() -> None:
    assert bsn_ok("111222333") and bsn_ok("123456782")
    assert not bsn_ok("123456789") and not bsn_ok("000000000")
    assert aadhaar_ok("234123412346") and aadhaar_ok("499118665246")
    assert not any(map(aadhaar_ok, ("234123412345", "123412341234", "222222222222")))
    assert nir_ok("269054958815780") and nir_ok("185052A00608435")
    assert not nir_ok("185057800608436")  # a wrong key
    assert not nir_ok("515057800608423") and not nir_ok("185157800608457")  # sex 5, month 15: right keys


def test_the_new_types_have_their_common_names() -> None:
    assert [entity_type(n) for n in ("BSN", "aadhaar", "NIR", "insee")] == [
        "NL_BSN", "IN_AADHAAR", "FR_NIR", "FR_NIR"]
