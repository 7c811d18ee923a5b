//! Phone numbers: one normal form (E.164) for everything the bridge stores, sends or compares.
//!
//! CRMs and Ringostat write the same number in many shapes (`0501234567`, `380501234567`,
//! `+38 (050) 123-45-67`, `8 050 123 45 67`); comparing anything but the normal form creates
//! duplicate contacts, the most common bug of telephony integrations.

use std::fmt;
use std::str::FromStr;

use std::sync::LazyLock;

use phonenumber::country::Id as Country;
use phonenumber::metadata::{DATABASE, Database};

/// The region assumed for numbers written without a country code. Ringostat is a Ukrainian PBX.
pub const DEFAULT_REGION: Country = Country::UA;

/// A phone number in E.164 form (`+380501234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber {
    e164: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("is empty")]
    Empty,
    #[error("is not a phone number")]
    NotANumber,
    #[error("is not a valid phone number")]
    Invalid,
}

impl PhoneNumber {
    /// Parses a number in any common notation, assuming Ukraine when no country code is given.
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        Self::parse_in(raw, DEFAULT_REGION)
    }

    /// Parses a number, assuming `region` when no country code is given.
    pub fn parse_in(raw: &str, region: Country) -> Result<Self, PhoneError> {
        Self::parse_using(raw, region, ukraine())
    }

    /// [`Self::parse_in`], with Ukraine's own metadata for the fast path (`None`: the world's
    /// for everything, as the tests compare).
    fn parse_using(
        raw: &str,
        region: Country,
        ukraine: Option<&Database>,
    ) -> Result<Self, PhoneError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(PhoneError::Empty);
        }
        // Letters mean a SIP login or a name, never a number; libphonenumber would read
        // vanity letters (1-800-FLOWERS) as digits, which is wrong here.
        if raw.chars().any(|c| c.is_alphabetic()) {
            return Err(PhoneError::NotANumber);
        }
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        if digits.len() < 5 {
            return Err(PhoneError::NotANumber);
        }
        // Ukrainian numbers, nearly all the bridge sees, are read with Ukraine's metadata alone;
        // anything else (foreign, or not valid in Ukraine) again with the whole world's. Both
        // read +380 numbers alike: the world has no country code 3 or 38 that could take the
        // prefix first, and the rest depends on Ukraine's metadata only.
        if region == Country::UA
            && let Some(ukraine) = ukraine
            && let Ok(number) = read(ukraine, raw, &digits, region)
            && number.code().value() == UKRAINE_CODE
        {
            return Ok(Self::from_valid(&number));
        }
        let number = read(&DATABASE, raw, &digits, region)?;
        Ok(Self::from_valid(&number))
    }

    /// A number that [`read`] accepted: `+`, country code, national number, which is all the
    /// crate's E.164 formatter writes. Not through it: its `Display` loads the world's metadata
    /// even when given another database.
    fn from_valid(number: &phonenumber::PhoneNumber) -> Self {
        Self {
            e164: format!("+{}{}", number.code().value(), number.national()),
        }
    }

    /// `+380501234567`
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// `380501234567`: the key for lookups and dedup (no `+`, which breaks URLs and CRM keys).
    pub fn digits(&self) -> &str {
        &self.e164[1..]
    }

    /// `+38050***4567`-style masking for logs: only the last four digits are kept.
    pub fn masked(&self) -> String {
        mask_phone(&self.e164)
    }
}

/// `+380501234567` as people type it into a CRM by hand: the notations [`SearchTerms`] must
/// find (the adapters' and the integration tests' table; docs/benchmarks.md counts the cost).
pub const STORED_NOTATIONS: [&str; 14] = [
    "+380501234567",
    "380501234567",
    "0501234567",
    "050 123 45 67",
    "050-123-45-67",
    "(050) 123-45-67",
    "+38 (050) 123-45-67",
    "+38 050 123 45 67",
    "8 050 123 45 67",
    "80501234567",
    "050.123.45.67",
    "+380 50 123 45 67",
    "+38-050-123-45-67",
    "38 (050) 1234567",
];

/// What a CRM search sends so that a client whose number a person stored in another notation
/// (`050 123 45 67`, `+38 (050) 123-45-67`, `8 050 123 45 67`) is still found. Every record a
/// search returns must still be re-checked with [`PhoneNumber::parse`]: fragments match other
/// numbers too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms {
    /// The whole number as people store it without separators: E.164, with the country code
    /// but no `+`, international with `00`; for Ukraine also national (`0501234567`) and with
    /// the old trunk prefix (`80501234567`). Compared for equality.
    pub whole: Vec<String>,
    /// The last seven digits in the groupings people type (`1234567`, `123 45 67`,
    /// `123-45-67`, `123.45.67`, `123 4567`, `123-4567`): whatever precedes them (area or
    /// operator code, in any notation), a stored value contains one of these.
    pub fragments: Vec<String>,
}

impl PhoneNumber {
    /// The notations a CRM search looks for: see [`SearchTerms`].
    pub fn search_terms(&self) -> SearchTerms {
        let digits = self.digits();
        let mut whole = vec![self.e164.clone(), digits.to_owned(), format!("00{digits}")];
        if let Some(national) = digits.strip_prefix("380") {
            whole.push(format!("0{national}"));
            whole.push(format!("80{national}"));
        }
        let fragments = match digits.len().checked_sub(7) {
            Some(start) if start > 0 => {
                let tail = &digits[start..];
                let (a, rest) = tail.split_at(3);
                let (b, c) = rest.split_at(2);
                let mut fragments = vec![tail.to_owned()];
                for separator in [" ", "-", "."] {
                    fragments.push([a, b, c].join(separator));
                }
                for separator in [" ", "-"] {
                    fragments.push(format!("{a}{separator}{b}{c}"));
                }
                fragments
            }
            _ => Vec::new(),
        };
        SearchTerms { whole, fragments }
    }
}

/// Loads Ukraine's metadata now and compiles the patterns the usual Ukrainian notations meet,
/// so the first call's answer does not pay them (functions call this during Lambda's INIT). The
/// whole world's metadata is left to the first foreign number: it costs ~69 ms of full CPU,
/// almost a second at the 128 MB CPU share (bench/phone-parsers.md).
pub fn warm_up() {
    for raw in ["+380441112233", "0501234567"] {
        let _ = PhoneNumber::parse(raw);
    }
}

/// Ukraine's country calling code.
const UKRAINE_CODE: u16 = 380;

/// The crate's own Ukrainian territory, as its metadata holds it.
const UKRAINE_METADATA: &str = include_str!("phone_ua_metadata.xml");

/// Ukraine's metadata alone (`phone_ua_metadata.xml`, the crate's own territory): reading it
/// takes about a millisecond, where the crate's world database (`DATABASE`) deserialises and
/// checks the patterns of every region on first use. `None` only if the excerpt did not load,
/// which a unit test rules out; everything then goes to the world database.
fn ukraine() -> Option<&'static Database> {
    static UKRAINE: LazyLock<Option<Database>> =
        LazyLock::new(|| Database::parse(ascii_digit_patterns(UKRAINE_METADATA)).ok());
    UKRAINE.as_ref()
}

/// The metadata's patterns with `\d` spelled `[0-9]`. The regex crate reads `\d` as every
/// Unicode digit, and compiling those classes was most of a first validation (~2 ms of the
/// first parse's ~6, bench/phone-parsers.md). The patterns only ever meet ASCII digits (the
/// parser normalises the number first), and a narrower class can only refuse, never accept,
/// so a difference would send the number to the world database, which reads it as before.
fn ascii_digit_patterns(metadata: &str) -> String {
    metadata.replace(r"\d", "[0-9]")
}

/// The metadata that holds `phone`'s country: Ukraine's alone for +380, the world's otherwise.
pub(crate) fn metadata_for(phone: &PhoneNumber) -> &'static Database {
    match ukraine() {
        Some(ukraine) if phone.digits().starts_with("380") => ukraine,
        _ => &DATABASE,
    }
}

/// An international number as typed or, when that is not a valid number, with its separators
/// dropped: the phonenumber crate reads `+38-050-123-45-67` and `+38.050.123.45.67` (a
/// separator inside `380`) as country code 38 and refuses them.
fn parse_international(
    database: &Database,
    number: &str,
) -> Result<phonenumber::PhoneNumber, phonenumber::ParseError> {
    match phonenumber::parse_with(database, None, number) {
        Ok(parsed) if phonenumber::is_valid_with(database, &parsed) => Ok(parsed),
        as_typed => {
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            phonenumber::parse_with(database, None, format!("+{digits}")).or(as_typed)
        }
    }
}

/// `raw` (trimmed, with `digits` its digits) read with `database`: a number valid there.
fn read(
    database: &Database,
    raw: &str,
    digits: &str,
    region: Country,
) -> Result<phonenumber::PhoneNumber, PhoneError> {
    let candidate = if raw.starts_with('+') || raw.starts_with("00") {
        raw.to_owned()
    } else if region == Country::UA {
        ukrainian_candidate(digits)
    } else {
        raw.to_owned()
    };
    // International input is read without a default region: with one, libphonenumber drops
    // the leading zero Italian numbers keep after the country code (+39 02…).
    let international = candidate
        .strip_prefix("00")
        .map(|rest| format!("+{rest}"))
        .or_else(|| candidate.starts_with('+').then(|| candidate.clone()));
    let parsed = match &international {
        Some(number) => parse_international(database, number),
        None => phonenumber::parse_with(database, Some(region), &candidate),
    }
    .map_err(|_| PhoneError::NotANumber)?;
    if phonenumber::is_valid_with(database, &parsed) {
        return Ok(parsed);
    }
    // Ringostat writes international numbers without `+` (`48221234567` for Warsaw): when
    // the number is not one of the default region's, read it as international.
    if !raw.starts_with('+')
        && let Ok(international) = phonenumber::parse_with(database, None, format!("+{digits}"))
        && phonenumber::is_valid_with(database, &international)
    {
        return Ok(international);
    }
    Err(PhoneError::Invalid)
}

/// Ukrainian numbers reach us with the trunk prefix of the Soviet plan (`8 050…`), with the
/// country code but no `+` (`380…`, Ringostat's own format) or nationally (`050…`). libphonenumber
/// handles the last two only partly, so put every shape into `+380…` first.
fn ukrainian_candidate(digits: &str) -> String {
    match digits.len() {
        // 380 50 123 45 67
        12 if digits.starts_with("380") => format!("+{digits}"),
        // 8 050 123 45 67
        11 if digits.starts_with("80") => format!("+38{}", &digits[1..]),
        // 80 50 123 45 67 (old "80" prefix without the 0 of the operator code is rare; keep as is)
        // 050 123 45 67
        10 if digits.starts_with('0') => format!("+38{digits}"),
        // 50 123 45 67
        9 => format!("+380{digits}"),
        _ => digits.to_owned(),
    }
}

/// Masks every digit of `text` but the last four, so logs can tell calls apart without
/// holding personal data. Non-digits are kept so the shape stays readable.
pub fn mask_phone(text: &str) -> String {
    let total = text.chars().filter(char::is_ascii_digit).count();
    let keep_from = total.saturating_sub(4);
    let mut seen = 0;
    text.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen > keep_from { c } else { '*' }
            } else {
                c
            }
        })
        .collect()
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for PhoneNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.e164)
    }
}

impl<'de> serde::Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Masks every run of 7 or more digits but its last four, so a phone number Ringostat echoes
/// back does not reach the logs while short codes stay readable.
pub fn mask_long_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 7 {
            out.push_str(&mask_phone(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::Mode;

    #[test]
    fn every_ukrainian_notation_becomes_the_same_e164_number() {
        for raw in [
            "0501234567",
            "380501234567",
            "+380501234567",
            "+38 (050) 123-45-67",
            "8 050 123 45 67",
            "80501234567",
            "00380501234567",
            "501234567",
            " 050-123-45-67 ",
            // A separator inside the country code's digits.
            "+38-050-123-45-67",
            "+38.050.123.45.67",
            "0038-050-123-45-67",
        ] {
            let phone = PhoneNumber::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(phone.e164(), "+380501234567", "{raw}");
            assert_eq!(phone.digits(), "380501234567", "{raw}");
        }
    }

    #[test]
    fn kyiv_landline_and_foreign_numbers_keep_their_country() {
        assert_eq!(
            PhoneNumber::parse("380441112233").unwrap().e164(),
            "+380441112233"
        );
        assert_eq!(
            PhoneNumber::parse("+48 22 123 45 67").unwrap().e164(),
            "+48221234567"
        );
        assert_eq!(
            PhoneNumber::parse("+1 (202) 555-0143").unwrap().e164(),
            "+12025550143"
        );
    }

    #[test]
    fn foreign_numbers_without_plus_as_ringostat_writes_them() {
        // Polish clients of a Polish project: Ringostat sends `48…` without `+`.
        assert_eq!(
            PhoneNumber::parse("48221234567").unwrap().e164(),
            "+48221234567"
        );
        assert_eq!(
            PhoneNumber::parse("48601234567").unwrap().e164(),
            "+48601234567"
        );
        // A Ukrainian reading still wins where it is valid.
        assert_eq!(
            PhoneNumber::parse("0441112233").unwrap().e164(),
            "+380441112233"
        );
    }

    #[test]
    fn sip_logins_names_and_garbage_are_not_numbers() {
        assert_eq!(
            PhoneNumber::parse("itrixcom_Kontakt"),
            Err(PhoneError::NotANumber)
        );
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("   "), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("-1"), Err(PhoneError::NotANumber));
        assert_eq!(PhoneNumber::parse("12"), Err(PhoneError::NotANumber));
        assert!(PhoneNumber::parse("0001112223334445556667").is_err());
    }

    #[test]
    fn every_stored_notation_holds_a_search_term_and_parses_back_to_the_number() {
        let phone = PhoneNumber::parse("+380501234567").unwrap();
        let terms = phone.search_terms();
        for stored in STORED_NOTATIONS {
            let found = terms.whole.iter().any(|w| w == stored)
                || terms.fragments.iter().any(|f| stored.contains(f.as_str()));
            assert!(found, "{stored} is not found by {terms:?}");
            assert_eq!(PhoneNumber::parse(stored).unwrap(), phone, "{stored}");
        }
        // A different number sharing the last seven digits matches a fragment, which is why
        // the re-check exists.
        let neighbour = PhoneNumber::parse("067 123 45 67").unwrap();
        assert_ne!(neighbour, phone);
    }

    #[test]
    fn foreign_numbers_search_their_own_notations() {
        let terms = PhoneNumber::parse("+48 22 123 45 67")
            .unwrap()
            .search_terms();
        assert_eq!(
            terms.whole,
            ["+48221234567", "48221234567", "0048221234567"]
        );
        assert!(terms.fragments.contains(&"123 45 67".to_owned()));
    }

    /// The excerpt is the crate's own Ukraine: after a `phonenumber` upgrade with new metadata
    /// this fails until `phone_ua_metadata.xml` holds the new territory.
    #[test]
    fn ua_excerpt_matches_the_crates_metadata() {
        let as_copied = Database::parse(UKRAINE_METADATA).expect("the excerpt loads");
        let excerpt = as_copied.by_id("UA").expect("UA in the excerpt");
        let world = DATABASE.by_id("UA").expect("UA in the world");
        assert_eq!(format!("{excerpt:?}"), format!("{world:?}"));
        // What the fast path loads differs in the spelling of the digit class alone.
        let ukraine = ukraine().expect("the rewritten excerpt loads");
        let loaded = ukraine.by_id("UA").expect("UA in the fast path's metadata");
        // (`Debug` writes the pattern's backslash twice.)
        assert_eq!(
            format!("{loaded:?}"),
            format!("{excerpt:?}").replace(r"\\d", "[0-9]")
        );
        assert_eq!(ukraine.by_code(&UKRAINE_CODE).map(|m| m.len()), Some(1));
        assert_eq!(DATABASE.by_code(&UKRAINE_CODE).map(|m| m.len()), Some(1));
        // The fast path's premise: no shorter country code could take the `+38…` prefix.
        assert!(DATABASE.by_code(&3).is_none() && DATABASE.by_code(&38).is_none());
    }

    /// Any input, however written: the fast path reads it exactly as the world's metadata does.
    fn same_with_and_without_the_fast_path(raw: &str) {
        let fast = PhoneNumber::parse_using(raw, DEFAULT_REGION, ukraine());
        assert_eq!(
            fast,
            PhoneNumber::parse_using(raw, DEFAULT_REGION, None),
            "{raw:?}"
        );
        // And the normal form is the crate's own E.164 formatting.
        if let Ok(phone) = fast {
            let parsed = phonenumber::parse(None, phone.e164()).expect("an E.164 number");
            assert_eq!(phone.e164(), parsed.format().mode(Mode::E164).to_string());
        }
    }

    #[test]
    fn the_fast_path_reads_known_notations_as_the_world_metadata_does() {
        for raw in STORED_NOTATIONS.iter().chain(&[
            "00380501234567",
            "0038-050-123-45-67",
            "+38.050.123.45.67",
            "(0038050) 123 45 67",
            "380900212345",
            "+380800123456",
            "+380891234567",
            "0441112233",
            "48221234567",
            "+48 22 123 45 67",
            "+390212345678",
            "3902000000",
            "+1 (202) 555-0143",
            "+3801234567",
            "+38050123456789",
            "0001112223334445556667",
            "+800 1234 5678",
            "+380501234567;ext=123",
            // Digits of other scripts: `\d` in the crate's patterns, `[0-9]` in the fast path's.
            "０５０１２３４５６７",
            "+３８０ ５０ １２３ ４５ ６７",
            "٠٥٠١٢٣٤٥٦٧",
            "+٣٨٠٥٠١٢٣٤٥٦٧",
            "۰۵۰۱۲۳۴۵۶۷",
            "+380 ५० १२३ ४५ ६७",
        ]) {
            same_with_and_without_the_fast_path(raw);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Digits after the prefixes a Ukrainian (or foreign) number starts with, split by the
        /// separators people type.
        #[test]
        fn the_fast_path_reads_any_number_as_the_world_metadata_does(
            prefix in proptest::sample::select(vec![
                "", "+", "00", "0", "8", "80", "3", "38", "380", "+3", "+38", "+380", "0038",
                "00380", "+380 0", "48", "+48", "7", "+7", "1", "+1", "39", "+39 0",
            ]),
            digits in proptest::collection::vec(0..=9u8, 0..14),
            separators in proptest::collection::vec(
                proptest::sample::select(vec!["", "", "", " ", "-", ".", "(", ")"]),
                14,
            ),
        ) {
            let mut raw = prefix.to_owned();
            for (digit, separator) in digits.iter().zip(&separators) {
                raw.push_str(separator);
                raw.push(char::from(b'0' + digit));
            }
            same_with_and_without_the_fast_path(&raw);
        }
    }

    #[test]
    fn masking_keeps_only_the_last_four_digits() {
        let phone = PhoneNumber::parse("0501234567").unwrap();
        assert_eq!(phone.masked(), "+********4567");
        assert_eq!(mask_phone("050 12"), "*50 12");
    }
}
