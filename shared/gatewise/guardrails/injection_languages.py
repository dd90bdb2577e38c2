"""The core prompt-injection phrases (ignore the previous instructions, reveal the system prompt,
you are now …) in German, French, Spanish, Italian, Portuguese, Dutch, Polish, Turkish,
Russian, Ukrainian, Chinese (simplified and traditional), Japanese and Korean.

Letters that take accents match with or without them ("pr[eé]c[eé]dentes"); the verbs are the
imperatives as written, so a past tense that differs only by its accent ("oublié", "olvidé",
"ignoré"), a Chinese or Japanese past ("忘记了", "忘れてしまった") or a statement ("我忘记")
is not an order, nor is "vergiss nicht, alle Anweisungen zu lesen" (do not forget to read
them). Trigger words are looked up without accents. Turkish, Japanese and Korean put the verb
last, so their patterns do too. Cyrillic patterns are written as they are read and folded as
the text is (several Cyrillic letters read as the Latin ones they look like); the rules of
scripts without spaces between words are looked up by literals every match holds.
"""

from __future__ import annotations

from gatewise.guardrails.injection_rules import Rule, rule
from gatewise.guardrails.normalize import normalise

# A letter of these languages, lower case: Latin-1 and Latin Extended-A (Polish, Turkish …),
# and Cyrillic (what the folding leaves of it).
LETTERS = "a-zß-öø-ÿœā-žа-яёіїєґ"
_L = LETTERS
_SL = rf"[^{_L}0-9]{{1,4}}"  # what separates two words
_WL = rf"[{_L}']{{1,20}}"  # a filler word
_SYSTEM = r"(?:syst[eè]me|sistema|systeem|systemow(?:y|e|ego|ych|ej)|systemu|system)"
_INTL_OVERRIDE_VERBS = (
    r"(?:ignoriere|ignorier|ignorieren sie|vergiss|vergessen sie|missachte|missachten sie|"
    r"[uü]berschreibe|umgehe|ignorez|ignore|oubliez|oublie|outrepasse|outrepassez|contourne|"
    r"contournez|ignora|ignorad|olvida|olvidad|descarta|omite|dimentica|dimenticate|ignorate|"
    r"trascura|esque[cç]a|desconsidere|despreza|negeer|vergeet|omzeil|passe outre [aà]|"
    r"zignoruj|ignoruj|zignorujcie|zapomnij|zapomnijcie|pomi[nń]|odrzu[cć]|porzu[cć])")
_INTL_INSTRUCTIONS = (
    r"(?:anweisungen|anweisung|instruktionen|befehle|regeln|vorgaben|richtlinien|instructions|"
    r"consignes|r[eè]gles|directives|ordres|instrucciones|reglas|directrices|indicaciones|normas|"
    r"istruzioni|regole|direttive|indicazioni|instru[cç][oõ]es|regras|diretrizes|orienta[cç][oõ]es|"
    r"instructies|regels|opdrachten|richtlijnen|aanwijzingen|instrukcj[eiaą]|instrukcjach|instrukcjami|"
    r"polecenia|polece[nń]|poleceniach|zasady|zasad|zasadach|regu[lł]y|regu[lł]|wytyczne|wytycznych|"
    r"wskaz[oó]wki)")
_INTL_EARLIER = (
    rf"(?:vorherigen|vorherige|bisherigen|bisherige|obigen|vorangegangenen|fr[uü]heren|urspr[uü]nglichen|"
    rf"alle|deine|deinen|ihre|pr[eé]c[eé]dentes|pr[eé]c[eé]dents|ant[eé]rieures|ci-dessus|initiales|"
    rf"toutes|tous|tes|vos|anteriores|previas|iniciales|originales|todas|todos|tus|sus|precedenti|"
    rf"iniziali|originali|tutte|tutti|tue|tuoi|pr[eé]vias|iniciais|originais|suas|tuas|seus|teus|"
    rf"vorige|eerdere|voorgaande|oorspronkelijke|bovenstaande|je|jouw|uw|poprzednie|poprzednich|"
    rf"wcze[sś]niejsze|wcze[sś]niejszych|dotychczasowe|dotychczasowych|powy[zż]sze|powy[zż]szych|"
    rf"wszystkie|wszystkich|swoje|swoich|twoje|twoich|{_SYSTEM})")
_INTL_SHOW_VERBS = (
    r"(?:gib|gebe|zeig|zeige|zeigen sie|verrate|verraten sie|nenne|wiederhole|drucke|r[eé]v[eè]le|"
    r"r[eé]v[eé]lez|affiche|affichez|montre|montrez|donne|donnez|r[eé]p[eè]te|r[eé]p[eé]tez|"
    r"divulgue|divulguez|[eé]cris|[eé]crivez|dis|dites|revela|revele|revelad|muestra|mu[eé]strame|"
    r"muestre|mu[eé]streme|dime|d[ií]game|repite|escribe|comparte|rivela|rivelami|mostra|mostrami|"
    r"dimmi|stampa|ripeti|scrivi|mostre|diga|imprima|repita|escreva|compartilhe|toon|laat|geef|"
    r"herhaal|onthul|vertel|noem|poka[zż]|wy[sś]wietl|ujawnij|podaj|wypisz|powt[oó]rz|zdrad[zź]|napisz)")
_INTL_SYSTEM_PROMPT = (
    rf"(?:system{_SL}?prompt|systemanweisungen|systemnachricht|systeemprompt|systeeminstructies|"
    rf"(?:prompt|instructions|consignes|instrucciones|istruzioni|instru[cç][oõ]es|instructies|"
    rf"anweisungen|mensaje|messaggio|mensagem|message|instrukcje|polecenie|komunikat){_SL}"
    rf"(?:(?:du|de|del|di|do|da|des|van|het){_SL}){{0,2}}{_SYSTEM})")

# Turkish: the object first, the verb last ("önceki tüm talimatları görmezden gel").
_TR_EARLIER = r"(?:[öo]nceki|yukar[ıi]daki|t[üu]m|b[üu]t[üu]n|eski|ilk|orijinal|sistem)"
_TR_RULES = (r"(?:talimatlar[ıi]?(?:n[ıi])?|talimat[ıi]|komutlar[ıi]?|kurallar[ıi]?|kurallar[ıi]n[ıi]|"
             r"y[öo]nergeler[ıi]?|emirler[ıi]?|direktifler[ıi]?)")
_TR_DROP = (r"(?:unut|unutun|yok say|yoksay|g[öo]rmezden gel|dikkate alma|bo[şs]ver|g[öo]z ard[ıi] et|"
            r"atla|iptal et)")
_TR_PROMPT = (r"(?:sistem (?:istemini|istemi|komutunu|talimatlar[ıi]n[ıi]|mesaj[ıi]n[ıi]|promptunu|"
              r"prompt'unu)|(?:ilk|gizli) talimatlar[ıi]n[ıi])")
_TR_SHOW = r"(?:g[öo]ster|yaz|tekrarla|s[öo]yle|payla[şs]|ver|a[çc][ıi]kla|yazd[ıi]r|if[şs]a et)"


def _native(pattern: str) -> str:
    """A pattern of Cyrillic words as the folded text reads them (its regex syntax is ASCII,
    which folding leaves alone)."""
    return normalise(pattern).text


# Russian and Ukrainian, verb first as in English.
_RU_DROP = _native(
    r"(?:игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|не обращай внимания на|"
    r"не обращайте внимания на|отбрось|отбросьте|пренебреги|отмени|отмените|ігноруй|ігноруйте|"
    r"проігноруй|проігноруйте|відкинь|не зважай на)")
_RU_EARLIER = _native(
    r"(?:предыдущие|предыдущих|прежние|прежних|все|всё|свои|твои|ваши|вышеуказанные|вышеприведенные|"
    r"ранее|изначальные|первоначальные|исходные|системные|данные|попередні|попередніх|усі|всі|свої|"
    r"твої|ваші|вищезазначені|початкові|системні)")
_RU_RULES = _native(
    r"(?:инструкции|инструкций|указания|указаний|правила|правил|команды|команд|ограничения|ограничений|"
    r"установки|директивы|распоряжения|інструкції|інструкцій|вказівки|вказівок|команди|обмеження|"
    r"настанови)")
_RU_TOLD = _native(r"(?:(?:всё|все)(?:,)? (?:что|чему) (?:тебе|вам) (?:говорили|сказали|велели|писали|"
                   r"приказали)|(?:усе|все)(?:,)? (?:що|чому) (?:тобі|вам) (?:казали|говорили|наказали))")
_RU_SHOW = _native(
    r"(?:покажи|покажите|выведи|выведите|раскрой|раскройте|повтори|повторите|напиши|напишите|скажи|"
    r"скажите|распечатай|процитируй|дай|дайте|виведи|виведіть|розкрий|розкрийте|повтори|повторіть|"
    r"напиши|напишіть|скажи|скажіть|покажіть)")
_RU_PROMPT = _native(
    r"(?:системный промпт|системного промпта|системную подсказку|системные инструкции|системное "
    r"сообщение|системный запрос|исходные инструкции|свои инструкции|твои инструкции|системний промпт|"
    r"системні інструкції|системне повідомлення|свої інструкції|твої інструкції)")
_RU_HOLDS = tuple(_native(w) for w in ("игнор", "ігнор", "забуд", "не обращ", "не зважа", "отброс",
                                       "пренебре", "отмени", "відкинь"))

# Chinese: the verb first, an imperative (not "我忘记", "忘记了").
_ZH_DROP = (r"(?<![我們们])(?:忽略|无视|無視|忽视|忽視|忘记|忘記|忘掉|抛开|拋開|不要理会|不要理會|别管|別管|"
            r"跳过|跳過|放弃|放棄|覆盖|覆蓋|撤销|撤銷)(?!了)")
_ZH_EARLIER = r"(?:之前|以前|先前|此前|上面|上述|前面|原来|原來|原有|最初|初始|全部|所有|一切|系统|系統)"
_ZH_RULES = r"(?:指令|指示|说明|說明|规则|規則|提示|命令|设定|設定|限制|要求|约束|約束|规定|規定)"
_ZH_SHOW = (r"(?:显示|顯示|输出|輸出|告诉我|告訴我|展示|打印|重复|重複|泄露|洩露|透露|"
            r"给我看|給我看|列出|写出|寫出|发给我|發給我|复述|複述|说出|說出)")
_ZH_PROMPT = (r"(?:系统提示词|系統提示詞|系统提示|系統提示|系统指令|系統指令|初始指令|"
              r"系统消息|系統訊息|系统设定|系統設定|原始指令|隐藏指令|隱藏指令|系统 ?prompt|系統 ?prompt)")
_CJK_GAP = r"[^\n。！？!?]{0,10}?"
# Japanese: the object first, then an imperative (not "忘れてしまった", "無視しても").
_JA_EARLIER = r"(?:以前|前の|これまで|今まで|上記|先ほど|最初|元の|すべて|全て|全部|あらゆる|システム)"
_JA_RULES = r"(?:指示|命令|指令|ルール|制約|プロンプト|設定|規則)"
_JA_DROP = r"(?:(?:無視|破棄)(?:して|しろ|せよ|しなさい)(?!も)|忘れ(?:て|ろ|なさい)(?!しま|い[るた]|も))"
_JA_PROMPT = (r"(?:システムプロンプト|システム指示|システムメッセージ|初期指示|最初の指示|"
              r"初期プロンプト|隠された指示|元の指示)")
_JA_SHOW = r"(?:表示|見せ|教え|出力|繰り返|開示|書き出|公開|言って|印刷|貼り)"
# Korean: the object first, then the verb.
_KO_EARLIER = r"(?:이전|앞의|앞선|위의|기존|모든|원래|초기|시스템|지금까지)"
_KO_RULES = r"(?:지시|지침|명령|규칙|프롬프트|지시사항|지시 사항|설정|제한)"
_KO_DROP = r"(?:무시(?:해|하고|하라|하세요|해라|해줘)(?!도)|잊어|잊고|잊으세요|잊어버려|잊어라)"
_KO_PROMPT = r"(?:시스템 ?프롬프트|시스템 ?지시|시스템 ?메시지|초기 ?지시|원래 ?지시|숨겨진 ?지시)"
_KO_SHOW = r"(?:보여|출력|알려|공개|반복|말해|써|적어)"

INTL_RULES: tuple[Rule, ...] = (
    rule("override", "instruction_override", 0.85,
         rf"\b{_INTL_OVERRIDE_VERBS}(?!{_SL}(?:nicht|niet)\b)(?:{_SL}{_WL}){{0,4}}{_SL}"
         rf"(?:{_INTL_EARLIER}(?:{_SL}{_WL}){{0,2}}{_SL}{_INTL_INSTRUCTIONS}|"
         rf"{_INTL_INSTRUCTIONS}(?:{_SL}{_WL}){{0,2}}{_SL}{_INTL_EARLIER})\b",
         "ignoriere ignorier ignorieren vergiss vergessen missachte missachten uberschreibe umgehe "
         "ignorez ignore oubliez oublie outrepasse outrepassez contourne contournez passe ignora ignorad "
         "olvida olvidad descarta omite dimentica dimenticate ignorate trascura esqueca desconsidere "
         "despreza negeer vergeet omzeil zignoruj ignoruj zignorujcie zapomnij zapomnijcie pomin odrzuc "
         "porzuc",
         "anweisungen anweisung instruktionen befehle regeln vorgaben richtlinien instructions consignes "
         "regles directives ordres instrucciones reglas directrices indicaciones normas istruzioni regole "
         "direttive indicazioni instrucoes regras diretrizes orientacoes instructies regels opdrachten "
         "richtlijnen aanwijzingen instrukcje instrukcji instrukcja instrukcjach instrukcjami polecenia "
         "polecen poleceniach zasady zasad zasadach reguly regul wytyczne wytycznych wskazowki", scoped=True),
    rule("forget_told", "instruction_override", 0.85,
         r"\b(?:vergiss|vergessen sie) alles,? was (?:man )?(?:dir|ihnen|du|sie) (?:vorher |zuvor |bisher )?"
         r"(?:gesagt|aufgetragen|befohlen|beigebracht)|\boubliez? tout ce qu(?:'on|e l'on) (?:t'a|vous a) "
         r"(?:dit|demand[eé]|appris)|\bolvid(?:a|ad|e) todo lo que te (?:han|hayan) "
         r"(?:dicho|ordenado|ense[nñ]ado)|\bdimentica(?:te)? tutto (?:quello|ci[oò]) che ti "
         r"(?:[eè] stato|hanno) (?:detto|ordinato|insegnato)|"
         r"\besque[cç]a tudo (?:o )?que (?:te|lhe) (?:disseram|foi dito|mandaram|ensinaram)|"
         r"\bvergeet alles wat (?:je|jou|u) (?:is )?(?:verteld|gezegd|opgedragen|geleerd)|"
         r"\bzapomnij (?:o )?wszystk(?:o|im),? co ci (?:powiedziano|kazano|m[oó]wiono)",
         "vergiss vergessen oublie oubliez olvida olvidad olvide dimentica dimenticate esqueca vergeet "
         "zapomnij",
         "alles tout todo tutto tudo wszystko wszystkim"),
    rule("override", "instruction_override", 0.85,
         rf"\b(?:{_TR_EARLIER}{_SL}(?:{_WL}{_SL}){{0,2}})?{_TR_RULES}{_SL}(?:{_WL}{_SL}){{0,2}}{_TR_DROP}\b",
         "talimatlar talimat talimatlari komutlar komutlari kurallar kurallari yonergeler yonergeleri "
         "emirler emirleri direktifler direktifleri",
         "unut unutun yok yoksay gormezden dikkate bosver goz atla iptal"),
    rule("override", "instruction_override", 0.85,
         rf"{_RU_DROP}(?:{_SL}{_WL}){{0,3}}{_SL}(?:{_RU_EARLIER}(?:{_SL}{_WL}){{0,2}}{_SL}{_RU_RULES}|"
         rf"{_RU_RULES}(?:{_SL}{_WL}){{0,2}}{_SL}{_RU_EARLIER}|{_RU_TOLD})", holds=_RU_HOLDS),
    rule("override", "instruction_override", 0.85,
         rf"{_ZH_DROP}{_CJK_GAP}{_ZH_EARLIER}{_CJK_GAP}{_ZH_RULES}",
         holds=("忽", "无视", "無視", "忘", "抛开", "拋開", "不要理", "别管", "別管", "跳过", "跳過", "放弃",
                "放棄", "覆盖", "覆蓋", "撤")),
    rule("override", "instruction_override", 0.85,
         rf"{_JA_EARLIER}{_CJK_GAP}{_JA_RULES}{_CJK_GAP}{_JA_DROP}", holds=("無視", "破棄", "忘れ")),
    rule("override", "instruction_override", 0.85,
         rf"{_KO_EARLIER}{_CJK_GAP}{_KO_RULES}{_CJK_GAP}{_KO_DROP}", holds=("무시", "잊")),
    rule("exfiltrate_prompt", "prompt_exfiltration", 0.75,
         rf"\b{_INTL_SHOW_VERBS}(?:{_SL}{_WL}){{0,4}}{_SL}{_INTL_SYSTEM_PROMPT}\b",
         "gib gebe zeig zeige zeigen verrate verraten nenne wiederhole drucke revele revelez affiche "
         "affichez montre montrez donne donnez repete repetez divulgue divulguez ecris ecrivez dis dites "
         "revela revelad muestra muestrame muestre muestreme dime digame repite escribe comparte rivela "
         "rivelami mostra mostrami dimmi stampa ripeti scrivi mostre diga imprima repita escreva "
         "compartilhe toon laat geef herhaal onthul vertel noem pokaz wyswietl ujawnij podaj wypisz "
         "powtorz zdradz napisz",
         "systemprompt system systemanweisungen systemnachricht systeemprompt systeeminstructies "
         "systeme sistema systeem systemowy systemowe systemowego systemowych systemowej systemu",
         scoped=True),
    rule("exfiltrate_prompt", "prompt_exfiltration", 0.75,
         rf"\b{_TR_PROMPT}{_SL}(?:{_WL}{_SL}){{0,3}}{_TR_SHOW}", "sistem ilk gizli",
         "istemini istemi komutunu talimatlar talimatlarini mesaj mesajini promptunu prompt"),
    rule("exfiltrate_prompt", "prompt_exfiltration", 0.75,
         rf"{_RU_SHOW}(?:{_SL}{_WL}){{0,3}}{_SL}{_RU_PROMPT}", holds=(_native("систем"), _native("инструкци"),
                                                                   _native("інструкці"))),
    rule("exfiltrate_prompt", "prompt_exfiltration", 0.75,
         rf"{_ZH_SHOW}{_CJK_GAP}{_ZH_PROMPT}|{_ZH_PROMPT}{_CJK_GAP}{_ZH_SHOW}",
         holds=("系统", "系統", "初始指令", "原始指令", "隐藏指令", "隱藏指令")),
    rule("exfiltrate_prompt", "prompt_exfiltration", 0.75,
         rf"{_JA_PROMPT}{_CJK_GAP}{_JA_SHOW}",
         holds=("システム", "初期", "最初の指示", "隠された", "元の指示")),
    rule("exfiltrate_prompt", "prompt_exfiltration", 0.75,
         rf"{_KO_PROMPT}{_CJK_GAP}{_KO_SHOW}", holds=("시스템", "초기", "원래", "숨겨진")),
    rule("you_are_now", "roleplay_jailbreak", 0.4,
         r"\b(?:du bist (?:jetzt|nun|ab sofort)|ab (?:jetzt|sofort) bist du|"
         r"tu es (?:maintenant|d[eé]sormais)|vous [eê]tes (?:maintenant|d[eé]sormais)|"
         r"d[eé]sormais,? (?:tu es|vous [eê]tes)|ahora eres|eres ahora|(?:ora|adesso) sei|"
         r"sei (?:ora|adesso)|agora voc[eê] [eé]|voc[eê] agora [eé]|"
         r"je bent nu|jij bent nu|vanaf nu ben je|(?:od )?teraz jeste[sś]|jeste[sś] teraz|"
         r"art[ıi]k sen|sen art[ıi]k)\b",
         "bist tu vous desormais eres ahora sei voce agora bent ben teraz jestes artik sen"),
    rule("you_are_now", "roleplay_jailbreak", 0.4,
         _native(r"(?:теперь ты|ты теперь|отныне ты|тепер ти|ти тепер|відтепер ти)"),
         holds=(_native("теперь"), _native("отныне"), _native("тепер"))),
    rule("you_are_now", "roleplay_jailbreak", 0.4,
         r"从现在开始你|從現在開始你|你现在是|你現在是|今からあなたは|이제부터 너는",
         holds=("从现在", "從現在", "你现在", "你現在", "今から", "이제부터")),
)
